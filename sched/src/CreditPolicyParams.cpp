// Credit's parameters (csched_dom_cntl, csched_sys_cntl) and its dump
// (csched_dump, csched_dump_pcpu: debug-key 'r').
#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "CreditPolicyImpl.h"

namespace smartvm::sched::credit {

// ---------------------------------------------------------------- parameters

/// tslice and what follows from it (__csched_set_tslice): 3 ticks per slice
/// (1 for slices under 3 ms), 10 credits per ms of slice per pCPU.
void CreditPolicy::setTslice(int64_t ms) {
  tslice_ = ms * kNsPerMs;
  const int64_t ticks = ms < kTicksPerTslice ? 1 : kTicksPerTslice;
  tickPeriod_ = ms * 1000 / ticks * kNsPerUs;  // whole microseconds, as Xen's tick_period_us
  creditsPerTslice_ = kCreditsPerMs * ms;
}

Result<Params> CreditPolicy::domainParams(const SchedDomain& d) const {
  const CreditDomain* sdom = find(d);
  if (sdom == nullptr) return error(ESRCH, fmt::format("domain {} is not scheduled by credit", d.domid));
  return Params{{"weight", sdom->weight}, {"cap", sdom->cap}};
}

Status CreditPolicy::checkDomainParams(const Params& p) const {
  const int64_t maxCap = 100 * static_cast<int64_t>(ncpus_);
  for (const auto& [key, value] : p) {
    if (key == "weight") {
      if (value < 1 || value > kMaxWeight)
        return error(EINVAL, fmt::format("weight {} out of range 1..{}", value, kMaxWeight));
    } else if (key == "cap") {
      if (value < 0 || value > maxCap)
        return error(EINVAL, fmt::format("cap {} out of range 0..{} (percent of one pCPU, {} pCPUs; 0 = no cap)",
                                         value, maxCap, ncpus_));
    } else {
      return error(EINVAL, fmt::format("unknown credit domain parameter '{}' (known: weight, cap)", key));
    }
  }
  return Status::ok();
}

Status CreditPolicy::setDomainParams(SchedDomain& d, const Params& p) {
  CreditDomain* sdom = find(d);
  if (sdom == nullptr) return error(ESRCH, fmt::format("domain {} is not scheduled by credit", d.domid));
  SMARTVM_TRY(checkDomainParams(p));  // all or nothing
  if (auto it = p.find("weight"); it != p.end()) {
    // The system weight counts the domain's weight once per active vCPU.
    weight_ += (it->second - sdom->weight) * static_cast<int64_t>(sdom->activeVcpus.size());
    sdom->weight = it->second;
  }
  // A lowered or removed cap takes effect at the next accounting, which is
  // also when parked vCPUs are unparked, as in Xen.
  if (auto it = p.find("cap"); it != p.end()) sdom->cap = it->second;
  return Status::ok();
}

Params CreditPolicy::globalParams() const {
  return {{"tslice_ms", tslice_ / kNsPerMs}, {"ratelimit_us", ratelimit_ / kNsPerUs}};
}

Status CreditPolicy::checkGlobalParams(const Params& p) const {
  int64_t tsliceMs = tslice_ / kNsPerMs;
  for (const auto& [key, value] : p) {
    if (key == "tslice_ms") {
      if (value < kMinTsliceMs || value > kMaxTsliceMs)
        return error(EINVAL, fmt::format("tslice_ms {} out of range {}..{}", value, kMinTsliceMs, kMaxTsliceMs));
      tsliceMs = value;
    } else if (key != "ratelimit_us") {
      return error(EINVAL, fmt::format("unknown credit parameter '{}' (known: tslice_ms, ratelimit_us)", key));
    }
  }
  const auto it = p.find("ratelimit_us");
  const int64_t rl = it != p.end() ? it->second : ratelimit_ / kNsPerUs;
  const int64_t maxRl = std::min(kMaxRatelimitUs, tsliceMs * 1000);
  if (rl != 0 && (rl < kMinRatelimitUs || rl > maxRl))
    return error(EINVAL, fmt::format("ratelimit_us {} out of range: 0 (off) or {}..{} (at most tslice_ms {})", rl,
                                     kMinRatelimitUs, maxRl, tsliceMs));
  return Status::ok();
}

Status CreditPolicy::setGlobalParams(const Params& p) {
  SMARTVM_TRY(checkGlobalParams(p));  // all or nothing
  if (auto it = p.find("tslice_ms"); it != p.end()) setTslice(it->second);
  if (auto it = p.find("ratelimit_us"); it != p.end()) ratelimit_ = it->second * kNsPerUs;
  return Status::ok();
}

// ---------------------------------------------------------------- dump

/// One vCPU, as csched_dump_unit: "[dom.vcpu] pri=.. cpu=.. credit=.. [w=..,cap=..]".
void CreditPolicy::dumpVcpu(std::ostream& out, const CreditVcpu& c) const {
  const int cpu = c.onCpu >= 0 ? c.onCpu : c.runqCpu >= 0 ? c.runqCpu : c.vcpu->pcpu;
  out << fmt::format("[{}.{}] pri={} ({}) cpu={} credit={} [w={},cap={}]", c.vcpu->domid, c.vcpu->id,
                     static_cast<int>(c.pri), priName(c.pri), cpu, c.credit, c.dom->weight, c.dom->cap);
  if (c.active) out << " active";
  if (c.parked) out << " parked";
  if (c.yielding) out << " yield";
  if (c.migrating) out << " migrating";
  if (!c.awake) out << " asleep";
  out << '\n';
}

void CreditPolicy::dumpCpu(std::ostream& out, unsigned cpu) const {
  const size_t nrRun = runq_[cpu].size() + (curr_[cpu] != nullptr ? 1 : 0);
  out << fmt::format("CPU[{:02}] nr_run={}, sort={}{}\n", cpu, nrRun, runqSortLast_[cpu],
                     available_[cpu] ? "" : ", lent");
  if (curr_[cpu] != nullptr) {
    out << "\trun: ";
    dumpVcpu(out, *curr_[cpu]);
  }
  int n = 0;
  for (const CreditVcpu* c : runq_[cpu]) {
    out << fmt::format("\t{:3}: ", ++n);
    dumpVcpu(out, *c);
  }
}

void CreditPolicy::dump(std::ostream& out) const {
  out << fmt::format(
      "credit: ncpus={} available={} master=0 credit={} credit_balance={} weight={} runq_sort={}\n"
      "\tdefault-weight={} tslice={}ms ratelimit={}us credits_per_msec={} ticks_per_tslice={}\n",
      ncpus_, availableCount(), creditsPerTslice_ * availableCount(), creditBalance_, weight_, runqSortEpoch_,
      kDefaultWeight, tslice_ / kNsPerMs, ratelimit_ / kNsPerUs, kCreditsPerMs, tslice_ / tickPeriod_);
  out << "idlers:";
  for (unsigned p = 0; p < ncpus_; ++p)
    if (idlers_.test(p)) out << ' ' << p;
  out << '\n';
  for (unsigned p = 0; p < ncpus_; ++p) dumpCpu(out, p);

  std::vector<const CreditDomain*> byId(domains_.begin(), domains_.end());
  std::sort(byId.begin(), byId.end(), [](const auto* a, const auto* b) { return a->dom->domid < b->dom->domid; });
  out << "domains:\n";
  for (const CreditDomain* d : byId) {
    int64_t credit = 0;
    for (const SchedVcpu* v : d->dom->vcpus)
      if (const auto* c = find(*v)) credit += c->credit;
    out << fmt::format("  d{} '{}': weight={} cap={} credit={} active_vcpus={}\n", d->dom->domid, d->dom->name,
                       d->weight, d->cap, credit, d->activeVcpus.size());
    for (const SchedVcpu* v : d->dom->vcpus) {
      if (const auto* c = find(*v)) {
        out << "\t";
        dumpVcpu(out, *c);
      }
    }
  }
}

}  // namespace smartvm::sched::credit
