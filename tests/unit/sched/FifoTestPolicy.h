#pragma once
// A predictable test double of a scheduling policy: one global FIFO, 10 ms
// slices, pCPUs that can be lent away. Not a real policy; it lets tests check
// the framework's and the parallel policy's own rules.
#include <algorithm>
#include <deque>
#include <vector>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched::test {

class FifoTestPolicy : public SchedPolicy {
 public:
  explicit FifoTestPolicy(SchedHost& host) : host_(host), available_(host.pcpuCount(), true) {}
  std::string_view name() const override { return "fifo-test"; }
  void insertDomain(SchedDomain&) override {}
  void removeDomain(SchedDomain&) override {}
  void insertVcpu(SchedVcpu&) override {}
  void removeVcpu(SchedVcpu& v) override { std::erase(queue_, &v); }
  void sleep(SchedVcpu& v, Ns) override { std::erase(queue_, &v); }
  void wake(SchedVcpu& v, Ns) override {
    if (std::find(queue_.begin(), queue_.end(), &v) == queue_.end()) queue_.push_back(&v);
    for (unsigned p = 0; p < available_.size(); ++p) host_.tickle(p);
  }
  void yield(SchedVcpu&) override {}
  Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns) override {
    if (prev != nullptr && prevRunnable) queue_.push_back(prev);
    Decision d;
    if (!available_[pcpu]) return d;
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (!(*it)->hardAffinity.test(pcpu)) continue;
      d.next = *it;
      queue_.erase(it);
      d.slice = 10 * kNsPerMs;
      return d;
    }
    return d;
  }
  unsigned pickCpu(const SchedVcpu& v) override { return v.pcpu >= 0 ? static_cast<unsigned>(v.pcpu) : 0; }
  Status setPcpuAvailable(unsigned pcpu, bool available) override {
    if (pcpu >= available_.size()) return error(EINVAL, "no such pCPU");
    available_[pcpu] = available;
    return Status::ok();
  }
  Ns tickPeriod() const override { return 10 * kNsPerMs; }
  void tick(unsigned, Ns) override {}
  Status workHint(SchedVcpu&, WorkHint, Ns) override { return Status::ok(); }
  Result<Params> domainParams(const SchedDomain&) const override { return Params{{"weight", 256}}; }
  Status setDomainParams(SchedDomain&, const Params& p) override {
    for (const auto& [k, v] : p)
      if (k != "weight") return error(EINVAL, "unknown parameter " + k);
    return Status::ok();
  }
  Params globalParams() const override { return {{"tslice_ms", 30}}; }
  Status setGlobalParams(const Params& p) override {
    return p.empty() ? Status::ok() : error(EINVAL, "unknown parameter " + p.begin()->first);
  }
  void dump(std::ostream& out) const override { out << "fifo: " << queue_.size() << " queued\n"; }

 private:
  SchedHost& host_;
  std::deque<SchedVcpu*> queue_;
  std::vector<bool> available_;
};

}  // namespace smartvm::sched::test
