#pragma once
// One host thread that fires deadlines in system time (CLOCK_MONOTONIC ns):
// Xen's per-vCPU singleshot and periodic timers all live here, so a domain
// with many vCPUs costs no extra threads.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace smartvm::hv {

class TimerQueue {
 public:
  using Id = uint64_t;
  /// Runs on the timer thread at or after the deadline. Keep it short; it may
  /// arm or cancel timers (including its own id) but must not block.
  using Callback = std::function<void()>;

  TimerQueue();
  /// Cancels everything and joins the thread.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  /// Arms a timer firing once at `deadlineNs`; a deadline in the past fires at once.
  Id arm(uint64_t deadlineNs, Callback fn);
  /// Disarms `id`. When it returns, the callback is not running and will not
  /// run, unless called from that callback itself. False if it had already
  /// fired or was unknown.
  bool cancel(Id id);
  /// Whether the caller is the timer thread (a callback).
  bool onTimerThread() const { return std::this_thread::get_id() == threadId_; }
  /// Timers armed and not yet fired.
  size_t pending() const;
  /// Callbacks run so far.
  uint64_t fired() const;

 private:
  void loop();

  mutable std::mutex m_;
  std::condition_variable cv_;      // new earliest deadline or stop
  std::condition_variable doneCv_;  // a callback finished
  std::multimap<uint64_t, Id> byDeadline_;
  std::map<Id, std::pair<std::multimap<uint64_t, Id>::iterator, Callback>> timers_;
  Id nextId_ = 1;
  Id running_ = 0;  // id whose callback runs now, 0 = none
  uint64_t fired_ = 0;
  bool stop_ = false;
  std::thread::id threadId_;
  std::thread thread_;
};

}  // namespace smartvm::hv
