#pragma once
// A transparent wrapper around the simulated policy that measures the host
// (wall-clock) time of each doSchedule call: the cost of one scheduling
// decision, which simulated time cannot show. Every other call is forwarded
// untouched, so the policy behaves exactly as it would unwrapped.
#include <chrono>
#include <memory>

#include "smartvm/sched/ForwardingPolicy.h"

namespace smartvm::sched::sim {

class TimedPolicy final : public ForwardingPolicy {
 public:
  using ForwardingPolicy::ForwardingPolicy;

  /// doSchedule calls so far, their total and their longest host time.
  uint64_t calls() const { return calls_; }
  int64_t totalNs() const { return totalNs_; }
  int64_t maxNs() const { return maxNs_; }

  Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) override {
    const auto t0 = std::chrono::steady_clock::now();
    Decision d = inner().doSchedule(pcpu, prev, prevRunnable, now);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0);
    ++calls_;
    totalNs_ += ns.count();
    if (ns.count() > maxNs_) maxNs_ = ns.count();
    return d;
  }

 private:
  uint64_t calls_ = 0;
  int64_t totalNs_ = 0;
  int64_t maxNs_ = 0;
};

}  // namespace smartvm::sched::sim
