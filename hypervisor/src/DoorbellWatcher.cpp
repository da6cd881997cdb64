#include "smartvm/hv/DoorbellWatcher.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstring>

namespace smartvm::hv {

DoorbellWatcher::DoorbellWatcher(Ring ring) : ring_(std::move(ring)) {}

DoorbellWatcher::~DoorbellWatcher() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
    thread_.join();
  }
}

Status DoorbellWatcher::startLocked() {
  if (thread_.joinable()) return Status::ok();
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep.valid()) return errnoStatus("epoll_create1 for doorbells");
  UniqueFd stop(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!stop.valid()) return errnoStatus("eventfd to stop the doorbell thread");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, stop.get(), &ev) < 0) return errnoStatus("epoll_ctl (doorbell stop)");
  epoll_ = std::move(ep);
  stop_ = std::move(stop);
  thread_ = std::thread([this] { loop(); });
  return Status::ok();
}

Result<DoorbellWatcher::Doorbell> DoorbellWatcher::add(uint32_t port) {
  std::lock_guard lk(m_);
  SMARTVM_TRY(startLocked());
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd.valid()) return errnoStatus("eventfd for the doorbell of port " + std::to_string(port));
  UniqueFd client(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  if (!client.valid()) return errnoStatus("dup of the doorbell of port " + std::to_string(port));
  SMARTVM_ASSIGN_OR_RETURN(const uint64_t token, addLocked(Entry{port, std::move(fd), nullptr}));
  return Doorbell{token, std::move(client)};
}

Result<uint64_t> DoorbellWatcher::watch(uint32_t port, UniqueFd fd, std::function<void()> onWake) {
  if (!fd.valid() || !onWake) return error(EINVAL, "nothing to watch");
  std::lock_guard lk(m_);
  SMARTVM_TRY(startLocked());
  return addLocked(Entry{port, std::move(fd), std::move(onWake)});
}

Result<uint64_t> DoorbellWatcher::addLocked(Entry e) {
  const uint64_t token = nextToken_++;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, e.fd.get(), &ev) < 0) {
    return errnoStatus("epoll_ctl for the eventfd of port " + std::to_string(e.port));
  }
  doorbells_.emplace(token, std::move(e));
  return token;
}

void DoorbellWatcher::remove(uint64_t token) {
  {
    std::lock_guard lk(m_);
    auto it = doorbells_.find(token);
    if (it == doorbells_.end()) return;
    // Explicitly: the client's duplicate keeps the eventfd alive, and epoll
    // forgets a file only when its last descriptor closes.
    (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
    doorbells_.erase(it);
  }
  // A ring looked up before the erase may still be running: wait it out.
  std::lock_guard ringing(ringing_);
}

size_t DoorbellWatcher::size() const {
  std::lock_guard lk(m_);
  return doorbells_.size();
}

void DoorbellWatcher::loop() {
  std::array<epoll_event, 64> events{};
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("doorbell thread: epoll_wait: {}", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[static_cast<size_t>(i)].data.u64;
      if (token == 0) return;
      // The table lock is dropped before the call: a callback may take locks
      // whose holders add doorbells (a backend binding a port while it holds
      // its store lock). ringing_, held across lookup and call, is what
      // remove() waits on.
      std::lock_guard ringing(ringing_);
      std::function<void()> onWake;
      uint32_t port = 0;
      {
        std::lock_guard lk(m_);
        auto it = doorbells_.find(token);
        if (it == doorbells_.end()) continue;  // removed since epoll_wait returned
        uint64_t count;
        if (::read(it->second.fd.get(), &count, sizeof(count)) != sizeof(count)) continue;
        onWake = it->second.onWake;
        port = it->second.port;
      }
      if (onWake) {
        onWake();
      } else {
        ring_(port);
      }
    }
  }
}

}  // namespace smartvm::hv
