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

// Sends the first chunk of `frame` with the descriptors attached, then the rest
// plainly: the kernel ties SCM_RIGHTS to the first byte of that sendmsg.
Status writeWithFds(int fd, const std::string& frame, std::span<const int> fds) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * MessageSocket::kMaxFds)] = {};
  iovec iov{const_cast<char*>(frame.data()), frame.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errnoStatus("control socket send");
  return writeAll(fd, frame.data() + n, frame.size() - static_cast<size_t>(n));
}

// Reads exactly `len` bytes, keeping any descriptors that arrive on the way.
// Linux ends a read at a message carrying descriptors, so a frame's fds come
// with its own bytes, never with the next frame's.
Status readAll(int fd, void* buf, size_t len, std::vector<UniqueFd>& fds) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * MessageSocket::kMaxFds)];
    iovec iov{p, len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus("control socket recv");
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.emplace_back(received);
      }
    }
    // Checked per read: a peer dribbling descriptors must not exhaust ours.
    if ((msg.msg_flags & MSG_CTRUNC) != 0 || fds.size() > MessageSocket::kMaxFds) {
      fds.clear();
      return error(EPROTO, "control frame carried more than " + std::to_string(MessageSocket::kMaxFds) +
                               " file descriptors");
    }
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

Status MessageSocket::send(const google::protobuf::MessageLite& msg) { return send(msg, {}); }

Status MessageSocket::send(const google::protobuf::MessageLite& msg, std::span<const int> fds) {
  if (fds.size() > kMaxFds) {
    return error(EINVAL, "a control frame carries at most " + std::to_string(kMaxFds) + " file descriptors");
  }
  // The body is serialised straight behind the length prefix: one buffer, no
  // second copy of it (a 1 MiB grant copy would otherwise be copied twice).
  const size_t bodySize = msg.ByteSizeLong();
  if (bodySize > kMaxFrame) return error(EMSGSIZE, "control message too large");
  const uint32_t len = static_cast<uint32_t>(bodySize);
  std::string frame(sizeof(len) + bodySize, '\0');
  std::memcpy(frame.data(), &len, sizeof(len));
  if (!msg.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(frame.data() + sizeof(len))))
    return error(EPROTO, "cannot serialise control message");
  if (fds.empty()) return writeAll(fd_, frame.data(), frame.size());
  return writeWithFds(fd_, frame, fds);
}

Status MessageSocket::recv(google::protobuf::MessageLite& msg) {
  std::vector<UniqueFd> unwanted;  // closed on return: nobody asked for them
  return recv(msg, unwanted);
}

Status MessageSocket::recv(google::protobuf::MessageLite& msg, std::vector<UniqueFd>& fds) {
  fds.clear();
  uint32_t len = 0;
  SMARTVM_TRY(readAll(fd_, &len, sizeof(len), fds));
  if (len > kMaxFrame) {
    fds.clear();
    return error(EMSGSIZE, "control frame of " + std::to_string(len) + " bytes refused");
  }
  std::string body(len, '\0');
  Status s = readAll(fd_, body.data(), len, fds);
  if (s && !msg.ParseFromString(body)) s = error(EPROTO, "malformed control message");
  if (!s) fds.clear();
  return s;
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
