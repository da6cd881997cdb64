#include "smartvm/dom0/HvConnection.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace smartvm::dom0 {

using control::v1::Request;
using control::v1::Response;

HvConnection::HvConnection(MessageSocket sock, std::string what)
    : sock_(std::make_unique<MessageSocket>(std::move(sock))),
      mutex_(std::make_unique<std::mutex>()),
      what_(std::move(what)) {}

Result<HvConnection> HvConnection::connect(const std::string& socketPath, std::string what) {
  auto sock = MessageSocket::connectUnix(socketPath);
  if (!sock.isOk()) {
    const int code = sock.status().code();
    return error(code == EACCES || code == EPERM ? code : ECONNREFUSED,
                 fmt::format("cannot reach smartvm-hv at {}: {} (is smartvm-hv running?)", socketPath,
                             sock.status().message()));
  }
  timeval tv{};
  tv.tv_sec = kAnswerTimeout.count();
  if (::setsockopt(sock->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) return errnoStatus("SO_RCVTIMEO");
  return HvConnection(std::move(*sock), std::move(what));
}

void HvConnection::disconnect() {
  if (!mutex_) return;
  std::lock_guard lk(*mutex_);
  sock_->close();
}

bool HvConnection::connected() const {
  if (!mutex_) return false;
  std::lock_guard lk(*mutex_);
  return sock_->valid();
}

int HvConnection::fd() const {
  if (!mutex_) return -1;
  std::lock_guard lk(*mutex_);
  return sock_->fd();
}

Result<Response> HvConnection::call(Request request, std::vector<UniqueFd>* fds) {
  if (!mutex_) return error(ENOTCONN, what_ + " was moved from");
  std::lock_guard lk(*mutex_);
  if (!sock_->valid()) return error(ENOTCONN, what_ + " is disconnected");
  request.set_id(nextId_++);
  if (Status s = sock_->send(request); !s) {
    return error(ENOTCONN, "lost the connection to smartvm-hv: " + s.message());
  }
  Response response;
  std::vector<UniqueFd> received;
  if (Status s = sock_->recv(response, received); !s) {
    // A lost answer leaves the connection out of step: give it up.
    sock_->close();
    if (s.code() == EAGAIN || s.code() == EWOULDBLOCK) {
      return error(ETIMEDOUT, fmt::format("smartvm-hv did not answer within {} s", kAnswerTimeout.count()));
    }
    return error(s.code() == ECONNRESET ? ENOTCONN : s.code(), "no answer from smartvm-hv: " + s.message());
  }
  if (response.id() != request.id()) {
    sock_->close();
    return error(EPROTO, fmt::format("smartvm-hv answered id {}, expected {}", response.id(), request.id()));
  }
  if (received.size() != response.fd_count()) {
    return error(EPROTO, fmt::format("smartvm-hv announced {} descriptors and sent {}", response.fd_count(),
                                     received.size()));
  }
  if (response.error_code() != 0) {
    const int32_t raw = response.error_code();
    const std::string& why = response.error();
    return error(raw > 0 ? raw : EPROTO, why.empty() ? "smartvm-hv refused the request" : why);
  }
  if (fds != nullptr) *fds = std::move(received);
  return response;
}

}  // namespace smartvm::dom0
