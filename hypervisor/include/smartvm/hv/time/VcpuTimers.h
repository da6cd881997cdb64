#pragma once
// One vCPU's Xen timers (xen/common/sched/core.c): the singleshot timer
// (VCPUOP_set_singleshot_timer, set_timer_op) and the periodic timer
// (VCPUOP_set_periodic_timer). Both end in `fire`, which sends VIRQ_TIMER.
#include <cstdint>
#include <functional>
#include <condition_variable>
#include <mutex>

#include "smartvm/hv/time/TimerQueue.h"

namespace smartvm::hv {

class VcpuTimers {
 public:
  VcpuTimers(TimerQueue& queue, std::function<void()> fire);
  ~VcpuTimers();
  VcpuTimers(const VcpuTimers&) = delete;
  VcpuTimers& operator=(const VcpuTimers&) = delete;

  /// (Re)arms the singleshot timer for `deadlineNs` (system time); a past deadline fires at once.
  void setSingleshot(uint64_t deadlineNs);
  void stopSingleshot();
  /// Fires every `periodNs` from now on; 0 stops the periodic timer.
  void setPeriodic(uint64_t periodNs);
  uint64_t periodNs() const;
  bool singleshotArmed() const;
  /// Disarms both; when it returns no callback runs (unless called from one).
  void stopAll();

 private:
  // Each arm gets a generation; a callback whose generation is no longer
  // current was stopped or re-armed after it fired and does nothing.
  void armSingleshot(uint64_t gen, uint64_t deadlineNs);
  void armPeriodic(uint64_t gen, uint64_t at);
  void onSingleshot(uint64_t gen);
  void onPeriodic(uint64_t gen);
  void cancelOutsideLock(TimerQueue::Id a, TimerQueue::Id b = 0);

  TimerQueue& queue_;
  const std::function<void()> fire_;
  mutable std::mutex m_;
  std::condition_variable idle_;
  int active_ = 0;  // callbacks between their generation check and fire_() returning
  TimerQueue::Id single_ = 0;
  TimerQueue::Id periodic_ = 0;
  uint64_t singleGen_ = 0;
  uint64_t periodicGen_ = 0;
  uint64_t period_ = 0;
  uint64_t nextPeriodic_ = 0;
};

}  // namespace smartvm::hv
