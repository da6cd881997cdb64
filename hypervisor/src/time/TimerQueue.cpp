#include "smartvm/hv/time/TimerQueue.h"

#include <chrono>

#include "smartvm/hv/Vcpu.h"  // monotonicNs

namespace smartvm::hv {

TimerQueue::TimerQueue() {
  thread_ = std::thread([this] { loop(); });
  std::lock_guard lk(m_);
  threadId_ = thread_.get_id();
}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard lk(m_);
    stop_ = true;
    byDeadline_.clear();
    timers_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

TimerQueue::Id TimerQueue::arm(uint64_t deadlineNs, Callback fn) {
  std::lock_guard lk(m_);
  const Id id = nextId_++;
  auto it = byDeadline_.emplace(deadlineNs, id);
  timers_.emplace(id, std::make_pair(it, std::move(fn)));
  if (it == byDeadline_.begin()) cv_.notify_all();
  return id;
}

bool TimerQueue::cancel(Id id) {
  std::unique_lock lk(m_);
  auto t = timers_.find(id);
  if (t != timers_.end()) {
    byDeadline_.erase(t->second.first);
    timers_.erase(t);
    return true;
  }
  // Fired already; wait for its callback unless we are that callback.
  if (!onTimerThread()) doneCv_.wait(lk, [&] { return running_ != id; });
  return false;
}

size_t TimerQueue::pending() const {
  std::lock_guard lk(m_);
  return timers_.size();
}

uint64_t TimerQueue::fired() const {
  std::lock_guard lk(m_);
  return fired_;
}

void TimerQueue::loop() {
  std::unique_lock lk(m_);
  while (!stop_) {
    if (byDeadline_.empty()) {
      cv_.wait(lk);
      continue;
    }
    const uint64_t deadline = byDeadline_.begin()->first;
    const uint64_t now = monotonicNs();
    if (deadline > now) {
      // steady_clock is CLOCK_MONOTONIC on Linux, the clock deadlines use.
      cv_.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline)));
      continue;
    }
    const Id id = byDeadline_.begin()->second;
    byDeadline_.erase(byDeadline_.begin());
    auto t = timers_.find(id);
    Callback fn = std::move(t->second.second);
    timers_.erase(t);
    running_ = id;
    ++fired_;
    lk.unlock();
    fn();
    lk.lock();
    running_ = 0;
    doneCv_.notify_all();
  }
}

}  // namespace smartvm::hv
