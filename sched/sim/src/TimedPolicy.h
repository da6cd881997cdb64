#pragma once
// A transparent wrapper around the simulated policy that measures the host
// (wall-clock) time of each doSchedule call: the cost of one scheduling
// decision, which simulated time cannot show. Every other call is forwarded
// untouched, so the policy behaves exactly as it would unwrapped.
#include <chrono>
#include <memory>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched::sim {

class TimedPolicy final : public SchedPolicy {
 public:
  explicit TimedPolicy(std::unique_ptr<SchedPolicy> inner) : p_(std::move(inner)) {}

  /// doSchedule calls so far, their total and their longest host time.
  uint64_t calls() const { return calls_; }
  int64_t totalNs() const { return totalNs_; }
  int64_t maxNs() const { return maxNs_; }

  Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) override {
    const auto t0 = std::chrono::steady_clock::now();
    Decision d = p_->doSchedule(pcpu, prev, prevRunnable, now);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0);
    ++calls_;
    totalNs_ += ns.count();
    if (ns.count() > maxNs_) maxNs_ = ns.count();
    return d;
  }

  std::string_view name() const override { return p_->name(); }
  void insertDomain(SchedDomain& d) override { p_->insertDomain(d); }
  void removeDomain(SchedDomain& d) override { p_->removeDomain(d); }
  void insertVcpu(SchedVcpu& v) override { p_->insertVcpu(v); }
  void removeVcpu(SchedVcpu& v) override { p_->removeVcpu(v); }
  void sleep(SchedVcpu& v, Ns now) override { p_->sleep(v, now); }
  void wake(SchedVcpu& v, Ns now) override { p_->wake(v, now); }
  void yield(SchedVcpu& v) override { p_->yield(v); }
  unsigned pickCpu(const SchedVcpu& v) override { return p_->pickCpu(v); }
  Status setPcpuAvailable(unsigned pcpu, bool available) override { return p_->setPcpuAvailable(pcpu, available); }
  Ns tickPeriod() const override { return p_->tickPeriod(); }
  void tick(unsigned pcpu, Ns now) override { p_->tick(pcpu, now); }
  Status workHint(SchedVcpu& v, WorkHint hint, Ns now) override { return p_->workHint(v, hint, now); }
  Result<Params> domainParams(const SchedDomain& d) const override { return p_->domainParams(d); }
  Status setDomainParams(SchedDomain& d, const Params& p) override { return p_->setDomainParams(d, p); }
  Params globalParams() const override { return p_->globalParams(); }
  Status setGlobalParams(const Params& p) override { return p_->setGlobalParams(p); }
  void dump(std::ostream& out) const override { p_->dump(out); }

 private:
  std::unique_ptr<SchedPolicy> p_;
  uint64_t calls_ = 0;
  int64_t totalNs_ = 0;
  int64_t maxNs_ = 0;
};

}  // namespace smartvm::sched::sim
