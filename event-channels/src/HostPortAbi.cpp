#include "smartvm/evtchn/HostPortAbi.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace smartvm::evtchn {
namespace {

void drain(int fd) {
  uint64_t count;
  while (::read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
}

void addOne(int fd) {
  const uint64_t one = 1;
  // EAGAIN only at a counter of 2^64-2, which still reads as pending.
  while (::write(fd, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

}  // namespace

HostPortAbi::HostPortAbi(uint32_t maxPorts) : maxPorts_(std::clamp<uint32_t>(maxPorts, 1, EVTCHN_2L_NR_CHANNELS)) {}

int HostPortAbi::fdLocked(uint32_t port) {
  if (auto it = fds_.find(port); it != fds_.end()) return it->second.get();
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return -1;
  fds_.emplace(port, UniqueFd(fd));
  if (pendingWithoutFd_.erase(port) != 0) addOne(fd);
  return fd;
}

bool HostPortAbi::setPending(uint32_t port, uint32_t /*vcpu*/) {
  if (port >= maxPorts_) return false;
  std::lock_guard lk(m_);
  const int fd = fdLocked(port);
  if (fd < 0) {
    pendingWithoutFd_.insert(port);
  } else {
    addOne(fd);
  }
  return false;
}

void HostPortAbi::clearPending(uint32_t port) {
  std::lock_guard lk(m_);
  pendingWithoutFd_.erase(port);
  if (auto it = fds_.find(port); it != fds_.end()) drain(it->second.get());
}

bool HostPortAbi::isPending(uint32_t port) const {
  std::lock_guard lk(m_);
  if (pendingWithoutFd_.contains(port)) return true;
  auto it = fds_.find(port);
  if (it == fds_.end()) return false;
  pollfd p{it->second.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

void HostPortAbi::reset() {
  std::lock_guard lk(m_);
  fds_.clear();
  pendingWithoutFd_.clear();
}

void HostPortAbi::portFreed(uint32_t port) {
  std::lock_guard lk(m_);
  fds_.erase(port);
  pendingWithoutFd_.erase(port);
}

Result<UniqueFd> HostPortAbi::eventFd(uint32_t port) {
  if (port >= maxPorts_) return error(EINVAL, "port " + std::to_string(port) + " is beyond the host's ports");
  std::lock_guard lk(m_);
  const int fd = fdLocked(port);
  if (fd < 0) return errnoStatus("eventfd for port " + std::to_string(port));
  const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return errnoStatus("dup of port " + std::to_string(port) + "'s eventfd");
  return UniqueFd(dup);
}

}  // namespace smartvm::evtchn
