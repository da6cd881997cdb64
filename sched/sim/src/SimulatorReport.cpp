// The simulator's results: runstates and params read back from the core,
// latencies and task times from the workloads, decision cost from the timer.
#include "TimedPolicy.h"
#include "smartvm/sched/sim/Simulator.h"

namespace smartvm::sched::sim {
namespace {

void add(Runstate& sum, const Runstate& r) {
  sum.running += r.running;
  sum.runnable += r.runnable;
  sum.blocked += r.blocked;
  sum.paused += r.paused;
  sum.offline += r.offline;
}

/// A policy parameter, or `fallback` when the policy has no such key.
int64_t param(const Result<Params>& p, const char* key, int64_t fallback) {
  if (!p.isOk()) return fallback;
  auto it = p->find(key);
  return it == p->end() ? fallback : it->second;
}

}  // namespace

DomainReport Simulator::domainReport(const DomainSim& d, uint32_t domid) {
  DomainReport r;
  r.domid = domid;
  r.name = d.spec->name.empty() ? "d" + std::to_string(domid) : d.spec->name;
  r.workload = d.spec->workload.kind;
  r.vcpus = d.spec->vcpus;
  const Result<Params> params = sched_->domainParams(domid);
  r.weight = param(params, "weight", 256);
  r.cap = param(params, "cap", 0);
  for (uint32_t v = 0; v < d.spec->vcpus; ++v) {
    Result<Runstate> rs = sched_->runstate(domid, v);
    r.vcpuRunstates.push_back(rs.isOk() ? *rs : Runstate{});
    add(r.total, r.vcpuRunstates.back());
  }
  r.share = static_cast<double>(r.total.running) / (static_cast<double>(config_.pcpus) * static_cast<double>(end_));
  r.wakeLatency = latencyStats(d.latencies);
  r.taskTimes = d.taskTimes;
  r.serialTimes = d.serialTimes;
  r.doneAt = d.doneAt;
  return r;
}

SimReport Simulator::buildReport(double wallSeconds) {
  SimReport r;
  r.policy = sched_->policyName();
  r.pcpus = config_.pcpus;
  r.vcpus = totalVcpus(config_);
  r.duration = end_;
  r.seed = config_.seed;
  r.switchCost = config_.switchCost;
  std::vector<Ns> all;
  for (uint32_t i = 0; i < domains_.size(); ++i) {
    r.domains.push_back(domainReport(domains_[i], i + 1));
    all.insert(all.end(), domains_[i].latencies.begin(), domains_[i].latencies.end());
  }
  r.wakeLatency = latencyStats(std::move(all));
  computeShareTargets(r);
  r.decisions.calls = timer_->calls();
  r.decisions.meanNs = r.decisions.calls == 0 ? 0.0 : static_cast<double>(timer_->totalNs()) / static_cast<double>(r.decisions.calls);
  r.decisions.maxNs = timer_->maxNs();
  r.events = events_;
  r.contextSwitches = contextSwitches_;
  r.hintErrors = hintErrors_;
  r.firstHintError = firstHintError_;
  for (int h = 0; h < 3; ++h) r.hints[h] = hintsSent_[h];
  r.traceHash = hash_;
  r.wallSeconds = wallSeconds;
  return r;
}

}  // namespace smartvm::sched::sim
