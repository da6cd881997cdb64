#pragma once
// A blocking test client for xenstored's Unix socket.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "smartvm/UniqueFd.h"
#include "smartvm/dom0/xenstore/XsMessage.h"

namespace smartvm::dom0::xenstore::test {

class XsSocketClient {
 public:
  /// Connects, retrying while the daemon is still starting up.
  bool connect(const std::string& path, std::chrono::milliseconds patience = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    do {
      fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
      if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  bool sendRaw(const std::string& bytes) {
    return ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  bool send(uint32_t type, uint32_t req, const std::string& payload, uint32_t tx = 0) {
    return sendRaw(XsMessage::encode(type, req, tx, payload));
  }

  /// The next message, or nullopt after a 5 s silence or a hang-up.
  std::optional<XsMessage> receive() {
    XsMessage m;
    std::string hdr;
    if (!readExactly(sizeof m.hdr, hdr)) return std::nullopt;
    std::memcpy(&m.hdr, hdr.data(), sizeof m.hdr);
    if (!readExactly(m.hdr.len, m.payload)) return std::nullopt;
    return m;
  }

 private:
  bool readExactly(size_t n, std::string& out) {
    out.clear();
    while (out.size() < n) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      char buf[4096];
      const ssize_t r = ::read(fd_.get(), buf, std::min(sizeof buf, n - out.size()));
      if (r <= 0) return false;
      out.append(buf, static_cast<size_t>(r));
    }
    return true;
  }

  UniqueFd fd_;
};

}  // namespace smartvm::dom0::xenstore::test
