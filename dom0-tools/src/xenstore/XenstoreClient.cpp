#include "smartvm/dom0/xenstore/XenstoreClient.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace smartvm::dom0::xenstore {
namespace {

std::string z(const std::string& s) { return std::string(s.c_str(), s.size() + 1); }

Status okStatus(const Result<std::string>& r) { return r.isOk() ? Status::ok() : r.status(); }

Result<std::vector<std::string>> strings(const Result<std::string>& r) {
  if (!r) return r.status();
  auto parts = xsSplitStrings(*r);
  if (!parts) return error(EPROTO, "xenstored sent an unterminated list");
  return std::move(*parts);
}

}  // namespace

Result<XenstoreClient> XenstoreClient::connect(const std::string& socketPath) {
  sockaddr_un addr{};
  if (socketPath.size() >= sizeof addr.sun_path) return error(ENAMETOOLONG, "socket path too long");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errnoStatus("socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    const int e = errno;
    return error(e == EACCES ? e : ECONNREFUSED, "cannot reach xenstored at " + socketPath + ": " + std::strerror(e) +
                                                     " (is smartvm-xenstored running?)");
  }
  return XenstoreClient(std::move(fd));
}

Result<std::string> XenstoreClient::read(const std::string& path, uint32_t tx) { return request(XS_READ, z(path), tx); }
Status XenstoreClient::write(const std::string& path, const std::string& value, uint32_t tx) {
  return okStatus(request(XS_WRITE, z(path) + value, tx));
}
Status XenstoreClient::mkdir(const std::string& path, uint32_t tx) { return okStatus(request(XS_MKDIR, z(path), tx)); }
Status XenstoreClient::rm(const std::string& path, uint32_t tx) { return okStatus(request(XS_RM, z(path), tx)); }
Result<std::vector<std::string>> XenstoreClient::directory(const std::string& path, uint32_t tx) {
  return strings(request(XS_DIRECTORY, z(path), tx));
}
Result<std::vector<std::string>> XenstoreClient::getPerms(const std::string& path, uint32_t tx) {
  return strings(request(XS_GET_PERMS, z(path), tx));
}
Status XenstoreClient::setPerms(const std::string& path, const std::vector<std::string>& perms, uint32_t tx) {
  return okStatus(request(XS_SET_PERMS, z(path) + xsJoinStrings(perms), tx));
}
Status XenstoreClient::watch(const std::string& path, const std::string& token) {
  return okStatus(request(XS_WATCH, z(path) + z(token), 0));
}
Status XenstoreClient::unwatch(const std::string& path, const std::string& token) {
  return okStatus(request(XS_UNWATCH, z(path) + z(token), 0));
}

Status XenstoreClient::introduce(uint32_t domid, uint64_t mfn, uint32_t port) {
  return okStatus(request(XS_INTRODUCE, z(std::to_string(domid)) + z(std::to_string(mfn)) + z(std::to_string(port)), 0));
}

Status XenstoreClient::release(uint32_t domid) { return okStatus(request(XS_RELEASE, z(std::to_string(domid)), 0)); }

Result<bool> XenstoreClient::isIntroduced(uint32_t domid) {
  SMARTVM_ASSIGN_OR_RETURN(std::string reply, request(XS_IS_DOMAIN_INTRODUCED, z(std::to_string(domid)), 0));
  const auto answer = xsOneArg(reply);
  if (!answer || (*answer != "T" && *answer != "F")) return error(EPROTO, "bad IS_DOMAIN_INTRODUCED reply");
  return *answer == "T";
}

Result<uint32_t> XenstoreClient::transactionStart() {
  SMARTVM_ASSIGN_OR_RETURN(std::string reply, request(XS_TRANSACTION_START, z(""), 0));
  const auto id = xsOneArg(reply);
  if (!id || id->empty()) return error(EPROTO, "bad transaction id from xenstored");
  return static_cast<uint32_t>(std::stoul(*id));
}

Status XenstoreClient::transactionEnd(uint32_t tx, bool commit) {
  return okStatus(request(XS_TRANSACTION_END, z(commit ? "T" : "F"), tx));
}

Result<XsEvent> XenstoreClient::waitEvent(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (events_.empty()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return error(ETIMEDOUT, "no watch event");
    SMARTVM_ASSIGN_OR_RETURN(XsMessage m, receive(left));
    if (m.hdr.type != XS_WATCH_EVENT) return error(EPROTO, "unexpected reply while waiting for events");
    auto parts = xsSplitStrings(m.payload);
    if (!parts || parts->size() < 2) return error(EPROTO, "malformed watch event");
    events_.push_back({(*parts)[0], (*parts)[1]});
  }
  XsEvent ev = std::move(events_.front());
  events_.pop_front();
  return ev;
}

Result<std::string> XenstoreClient::request(uint32_t type, const std::string& payload, uint32_t tx) {
  if (payload.size() > XENSTORE_PAYLOAD_MAX) return error(E2BIG, "request exceeds XENSTORE_PAYLOAD_MAX");
  const uint32_t req = nextReq_++;
  const std::string bytes = XsMessage::encode(type, req, tx, payload);
  if (::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    return errnoStatus("send to xenstored");
  }
  for (;;) {
    SMARTVM_ASSIGN_OR_RETURN(XsMessage m, receive(kReplyTimeout));
    if (m.hdr.type == XS_WATCH_EVENT) {
      auto parts = xsSplitStrings(m.payload);
      if (parts && parts->size() >= 2) events_.push_back({(*parts)[0], (*parts)[1]});
      continue;
    }
    if (m.hdr.req_id != req) return error(EPROTO, "reply to another request");
    if (m.hdr.type == XS_ERROR)
      return error(xsErrorCode(m.payload.c_str()), "xenstored: " + std::string(m.payload.c_str()));
    return std::move(m.payload);
  }
}

Result<XsMessage> XenstoreClient::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  XsMessage m;
  SMARTVM_TRY(readExactly(reinterpret_cast<char*>(&m.hdr), sizeof m.hdr, deadline));
  if (m.hdr.len > XENSTORE_PAYLOAD_MAX) return error(EPROTO, "oversized message from xenstored");
  m.payload.resize(m.hdr.len);
  SMARTVM_TRY(readExactly(m.payload.data(), m.hdr.len, deadline));
  return m;
}

Status XenstoreClient::readExactly(char* dst, size_t n, std::chrono::steady_clock::time_point deadline) {
  size_t done = 0;
  while (done < n) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return errnoStatus("poll xenstored");
    if (ready == 0) return error(ETIMEDOUT, "xenstored did not answer");
    const ssize_t r = ::read(fd_.get(), dst + done, n - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errnoStatus("read from xenstored");
    if (r == 0) return error(ECONNRESET, "xenstored closed the connection");
    done += static_cast<size_t>(r);
  }
  return Status::ok();
}

}  // namespace smartvm::dom0::xenstore
