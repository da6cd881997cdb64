#pragma once
// A SchedPolicy that passes every call to an inner policy: the base for
// wrappers that observe a policy without changing it (the simulator's
// decision timer, tests recording hints). Override only what you observe.
#include <memory>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched {

class ForwardingPolicy : public SchedPolicy {
 public:
  explicit ForwardingPolicy(std::unique_ptr<SchedPolicy> inner) : p_(std::move(inner)) {}

  std::string_view name() const override { return p_->name(); }
  void insertDomain(SchedDomain& d) override { p_->insertDomain(d); }
  void removeDomain(SchedDomain& d) override { p_->removeDomain(d); }
  void insertVcpu(SchedVcpu& v) override { p_->insertVcpu(v); }
  void removeVcpu(SchedVcpu& v) override { p_->removeVcpu(v); }
  void sleep(SchedVcpu& v, Ns now) override { p_->sleep(v, now); }
  void wake(SchedVcpu& v, Ns now) override { p_->wake(v, now); }
  void yield(SchedVcpu& v) override { p_->yield(v); }
  Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) override {
    return p_->doSchedule(pcpu, prev, prevRunnable, now);
  }
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

 protected:
  SchedPolicy& inner() { return *p_; }

 private:
  std::unique_ptr<SchedPolicy> p_;
};

}  // namespace smartvm::sched
