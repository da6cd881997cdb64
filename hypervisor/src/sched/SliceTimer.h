#pragma once
// One thread for every pCPU's timers: the end of the current slice (the
// policy asked to decide again then) and the policy's periodic tick, which
// every pCPU gets, idle ones included (credit accounts on pCPU 0's tick).
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "smartvm/sched/PcpuSet.h"
#include "smartvm/sched/Scheduler.h"

namespace smartvm::hv {

class SliceTimer {
 public:
  SliceTimer(sched::Scheduler& sched, sched::PcpuSet& pcpus);
  ~SliceTimer();  ///< stops and joins the thread
  /// pCPU `pcpu` decides again at `at` (Scheduler clock); replaces an earlier arm.
  void arm(unsigned pcpu, sched::Ns at);

 private:
  void loop();

  sched::Scheduler& sched_;
  sched::PcpuSet& pcpus_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<sched::Ns> sliceEnd_;
  sched::Ns nextTick_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace smartvm::hv
