#pragma once
// One thread for every pCPU's timers: the end of the current slice (the
// policy asked to decide again then), the policy's periodic tick, which
// every pCPU gets, idle ones included (credit accounts on pCPU 0's tick),
// and, while some vCPU waits behind a pCPU's holder, the halt check: every
// `haltCheck` the holder is asked whether it idles in `hlt` inside KVM.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "smartvm/sched/PcpuSet.h"
#include "smartvm/sched/Scheduler.h"

namespace smartvm::hv {

class SliceTimer {
 public:
  /// Looks at a pCPU's holder with someone waiting behind it (the run loop
  /// kicks it if it may be halted); called on the timer thread.
  using HaltCheck = std::function<void(sched::SchedVcpu& holder)>;

  /// `haltCheck` <= 0 or an empty `check`: no halt checks.
  SliceTimer(sched::Scheduler& sched, sched::PcpuSet& pcpus, sched::Ns haltCheck = 0, HaltCheck check = nullptr);
  ~SliceTimer();  ///< stops and joins the thread
  /// pCPU `pcpu` decides again at `at` (Scheduler clock); replaces an earlier arm.
  void arm(unsigned pcpu, sched::Ns at);
  /// A vCPU began waiting for a pCPU: if it waits behind a holder, halt checks
  /// start (they stop by themselves once nobody waits behind any holder).
  void waiterAppeared();
  /// Halt checks run so far (each one looks at every pCPU with a waiter).
  uint64_t haltCheckRounds() const;

 private:
  void loop();
  /// Checks every pCPU with a waiter behind its holder; true if there was one.
  bool checkHolders();

  sched::Scheduler& sched_;
  sched::PcpuSet& pcpus_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<sched::Ns> sliceEnd_;
  sched::Ns nextTick_ = 0;
  const sched::Ns haltCheck_;
  const HaltCheck check_;
  sched::Ns nextHaltCheck_;
  uint64_t haltCheckRounds_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace smartvm::hv
