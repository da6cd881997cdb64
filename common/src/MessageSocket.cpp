#include "smartvm/MessageSocket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace smartvm {
namespace {

Status writeAll(int fd, const void* buf, size_t len) {
  auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    const ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus("control socket send");
    p += n;
    len -= static_cast<size_t>(n);
  }
  return Status::ok();
}

Status readAll(int fd, void* buf, size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    const ssize_t n = ::recv(fd, p, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus("control socket recv");
    if (n == 0) return error(ENOTCONN, "peer closed the connection");
    p += n;
    len -= static_cast<size_t>(n);
  }
  return Status::ok();
}

Result<sockaddr_un> unixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return error(ENAMETOOLONG, "socket path '" + path + "' is empty or too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

MessageSocket::~MessageSocket() { close(); }

MessageSocket& MessageSocket::operator=(MessageSocket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void MessageSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<MessageSocket> MessageSocket::connectUnix(const std::string& path) {
  SMARTVM_ASSIGN_OR_RETURN(sockaddr_un addr, unixAddress(path));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errnoStatus("socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    Status s = errnoStatus("connect to " + path);
    ::close(fd);
    return s;
  }
  return MessageSocket(fd);
}

Status MessageSocket::send(const google::protobuf::MessageLite& msg) {
  std::string body;
  if (!msg.SerializeToString(&body)) return error(EPROTO, "cannot serialise control message");
  if (body.size() > kMaxFrame) return error(EMSGSIZE, "control message too large");
  const uint32_t len = static_cast<uint32_t>(body.size());
  std::string frame(reinterpret_cast<const char*>(&len), sizeof(len));
  frame += body;
  return writeAll(fd_, frame.data(), frame.size());
}

Status MessageSocket::recv(google::protobuf::MessageLite& msg) {
  uint32_t len = 0;
  SMARTVM_TRY(readAll(fd_, &len, sizeof(len)));
  if (len > kMaxFrame) return error(EMSGSIZE, "control frame of " + std::to_string(len) + " bytes refused");
  std::string body(len, '\0');
  SMARTVM_TRY(readAll(fd_, body.data(), len));
  if (!msg.ParseFromString(body)) return error(EPROTO, "malformed control message");
  return Status::ok();
}

Result<int> listenUnix(const std::string& path, unsigned mode) {
  SMARTVM_ASSIGN_OR_RETURN(sockaddr_un addr, unixAddress(path));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errnoStatus("socket");
  // A socket file left by a crashed daemon is replaced only if nobody answers on it.
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    ::close(probe);
    ::close(fd);
    return error(EADDRINUSE, "another daemon is already listening on " + path);
  }
  if (probe >= 0) ::close(probe);
  ::unlink(path.c_str());
  const mode_t old = ::umask(0777 & ~mode);
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc < 0 || ::chmod(path.c_str(), mode) < 0 || ::listen(fd, 64) < 0) {
    Status s = errnoStatus("listen on " + path);
    ::close(fd);
    return s;
  }
  return fd;
}

}  // namespace smartvm
