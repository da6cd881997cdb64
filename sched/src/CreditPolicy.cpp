#include <fmt/format.h>

#include <algorithm>

#include "CreditPolicyImpl.h"

namespace smartvm::sched {
namespace credit {
namespace {

/// The next pCPU after `from` in `mask`, wrapping around (Xen's cpumask_cycle);
/// `from` itself comes last. -1 for an empty mask.
int cycle(int from, const CpuMask& mask, unsigned ncpus) {
  for (unsigned k = 1; k <= ncpus; ++k) {
    const unsigned p = static_cast<unsigned>(from + static_cast<int>(k)) % ncpus;
    if (mask.test(p)) return static_cast<int>(p);
  }
  return -1;
}

}  // namespace

const char* priName(Pri p) {
  switch (p) {
    case Pri::Boost: return "BOOST";
    case Pri::Under: return "UNDER";
    case Pri::Over: return "OVER";
    case Pri::Idle: return "IDLE";
  }
  return "?";
}

CreditPolicy::CreditPolicy(SchedHost& host)
    : host_(host),
      ncpus_(host.pcpuCount()),
      runq_(ncpus_),
      curr_(ncpus_, nullptr),
      available_(ncpus_, true),
      runqSortLast_(ncpus_, 0),
      orphans_(std::make_unique<CreditDomain>()) {
  for (unsigned p = 0; p < ncpus_; ++p) valid_.set(p);
  idlers_ = valid_;  // pCPUs start off idling
  setTslice(kDefaultTsliceMs);
  nextAcct_ = host.now() + tslice_;
}

CreditVcpu* CreditPolicy::find(const SchedVcpu& v) { return dynamic_cast<CreditVcpu*>(v.priv.get()); }
CreditDomain* CreditPolicy::find(const SchedDomain& d) { return dynamic_cast<CreditDomain*>(d.priv.get()); }

// ---------------------------------------------------------------- domains and vCPUs

void CreditPolicy::insertDomain(SchedDomain& d) {
  auto sdom = std::make_unique<CreditDomain>();
  sdom->dom = &d;
  domains_.push_back(sdom.get());
  d.priv = std::move(sdom);
}

void CreditPolicy::removeDomain(SchedDomain& d) {
  CreditDomain* sdom = find(d);
  if (sdom == nullptr) return;
  // Its vCPUs are gone, and with them its place on the active list; this is
  // only a guard against a framework that broke that promise.
  activeDomains_.remove(sdom);
  std::erase(domains_, sdom);
  d.priv.reset();
}

void CreditPolicy::insertVcpu(SchedVcpu& v) {
  auto svc = std::make_unique<CreditVcpu>();
  svc->vcpu = &v;
  CreditDomain* sdom = v.domain != nullptr ? find(*v.domain) : nullptr;
  svc->dom = sdom != nullptr ? sdom : orphans_.get();
  v.priv = std::move(svc);
}

void CreditPolicy::removeVcpu(SchedVcpu& v) {
  CreditVcpu* c = find(v);
  if (c == nullptr) return;
  if (c->runqCpu >= 0) runqRemove(*c);
  if (c->onCpu >= 0) setCurrent(static_cast<unsigned>(c->onCpu), nullptr);
  if (c->active) acctStop(*c);
  v.priv.reset();
}

// ---------------------------------------------------------------- vCPU events

void CreditPolicy::sleep(SchedVcpu& v, Ns now) {
  (void)now;
  CreditVcpu* c = find(v);
  if (c == nullptr) return;
  c->awake = false;
  if (c->onCpu >= 0)
    host_.tickle(static_cast<unsigned>(c->onCpu));  // its pCPU decides again
  else if (c->runqCpu >= 0)
    runqRemove(*c);
}

void CreditPolicy::wake(SchedVcpu& v, Ns now) {
  (void)now;
  CreditVcpu* c = find(v);
  if (c == nullptr) return;
  c->awake = true;
  // Still running (it slept and woke before its pCPU rescheduled) or queued:
  // nothing to do, as in csched_unit_wake.
  if (c->onCpu >= 0 || c->runqCpu >= 0) return;
  // A parked vCPU is paused in Xen: accounting queues it when it unparks.
  if (c->parked) return;
  // Boost a vCPU that wakes with credit left: if it runs briefly and blocks
  // again (I/O), it keeps preempting CPU hogs; if it runs on, its next tick
  // ends the boost.
  if (c->pri == Pri::Under) c->pri = Pri::Boost;
  queueAndTickle(*c);
}

void CreditPolicy::yield(SchedVcpu& v) {
  if (CreditVcpu* c = find(v)) c->yielding = true;  // doSchedule on its pCPU follows
}

Status CreditPolicy::workHint(SchedVcpu& v, WorkHint hint, Ns now) {
  (void)v;
  (void)hint;
  (void)now;
  return Status::ok();
}

// ---------------------------------------------------------------- runqueues

/// Behind every vCPU of its priority or higher; a yielding vCPU also goes
/// behind the first of lower priority, if any (__runq_insert).
void CreditPolicy::runqInsert(CreditVcpu& c, unsigned cpu) {
  auto& q = runq_[cpu];
  auto it = std::find_if(q.begin(), q.end(), [&c](const CreditVcpu* o) { return c.pri > o->pri; });
  if (c.yielding && it != q.end()) ++it;
  q.insert(it, &c);
  c.runqCpu = static_cast<int>(cpu);
}

void CreditPolicy::runqRemove(CreditVcpu& c) {
  if (c.runqCpu < 0) return;
  runq_[static_cast<unsigned>(c.runqCpu)].remove(&c);
  c.runqCpu = -1;
}

CpuMask CreditPolicy::availableMask() const {
  CpuMask m;
  for (unsigned p = 0; p < ncpus_; ++p)
    if (available_[p]) m.set(p);
  return m;
}

unsigned CreditPolicy::availableCount() const { return static_cast<unsigned>(availableMask().count()); }

void CreditPolicy::setCurrent(unsigned cpu, CreditVcpu* c) {
  if (curr_[cpu] != nullptr && curr_[cpu] != c) curr_[cpu]->onCpu = -1;
  curr_[cpu] = c;
  if (c != nullptr) c->onCpu = static_cast<int>(cpu);
}

/// Tickles `cpu` if `c`, just queued there, should preempt what runs there or
/// the pCPU idles; else an idle pCPU `c` may run on, which will steal it
/// (__runq_tickle, without soft affinity). Tickled pCPUs stop counting as
/// idle, so the next wake-up goes elsewhere.
void CreditPolicy::runqTickle(const CreditVcpu& c, unsigned cpu) {
  if (!available_[cpu]) return;  // lent away: c waits for the pCPU to come back
  const CpuMask idle = idlers_ & availableMask();
  const Pri cur = curr_[cpu] != nullptr ? curr_[cpu]->pri : Pri::Idle;
  int target = -1;
  if (cur == Pri::Idle || (idle.none() && c.pri > cur)) {
    target = static_cast<int>(cpu);
  } else if (idle.any()) {
    const CpuMask mine = idle & c.vcpu->hardAffinity;
    if (mine.any()) {
      // Leave cur alone (cache-hot) and wake an idler for c (cache-cold anyway).
      lastTickle_ = static_cast<unsigned>(cycle(static_cast<int>(lastTickle_), mine, ncpus_));
      target = static_cast<int>(lastTickle_);
    } else if (c.pri > cur) {
      target = static_cast<int>(cpu);
    }
  }
  if (target < 0) return;
  idlers_.reset(static_cast<unsigned>(target));
  host_.tickle(static_cast<unsigned>(target));
}

void CreditPolicy::queueAndTickle(CreditVcpu& c) {
  const unsigned cpu = pick(c);
  runqInsert(c, cpu);
  runqTickle(c, cpu);
}

// ---------------------------------------------------------------- placement

unsigned CreditPolicy::pickCpu(const SchedVcpu& v) {
  if (const CreditVcpu* c = find(v)) return pick(*c);
  const CpuMask allowed = v.hardAffinity & valid_;
  return allowed.test(0) || allowed.none() ? 0 : static_cast<unsigned>(cycle(0, allowed, ncpus_));
}

/// _csched_cpu_pick without SMT topology: within hard affinity (and, if it
/// allows any, the pCPUs not lent away), the vCPU's last pCPU if it idles, else
/// the next idle one after it, else the last pCPU. A vCPU running alone on its
/// pCPU counts that pCPU as idle (it would be, without it).
unsigned CreditPolicy::pick(const CreditVcpu& c) const {
  const CpuMask allowed = c.vcpu->hardAffinity & valid_;
  CpuMask cpus = allowed & availableMask();
  if (cpus.none()) cpus = allowed;  // only lent pCPUs: wait on one for its return
  if (cpus.none()) return 0;        // no such pCPU: the framework refuses such masks
  const int pcpu = c.vcpu->pcpu;
  // Never ran: spread a domain's vCPUs by index, as Xen places new vCPUs.
  const int last = pcpu >= 0 && static_cast<unsigned>(pcpu) < ncpus_ ? pcpu : static_cast<int>(c.vcpu->id % ncpus_);
  int cpu = cpus.test(static_cast<unsigned>(last)) ? last : cycle(last, cpus, ncpus_);
  CpuMask idle = idlers_ & cpus;
  if (c.onCpu == cpu && runq_[static_cast<unsigned>(cpu)].empty()) idle.set(static_cast<unsigned>(cpu));
  if (!idle.test(static_cast<unsigned>(cpu)) && idle.any()) cpu = cycle(cpu, idle, ncpus_);
  return static_cast<unsigned>(cpu);
}

// ---------------------------------------------------------------- decisions

// `prevRunnable` is not needed: wake() and sleep() keep CreditVcpu::awake, and
// it also covers a vCPU that blocked and woke again while still running, which
// a framework may report as not runnable (its state is no longer Running).
Decision CreditPolicy::doSchedule(unsigned cpu, SchedVcpu* prev, bool prevRunnable, Ns now) {
  (void)prevRunnable;
  if (cpu >= ncpus_) return {};
  CreditVcpu* scurr = prev != nullptr ? find(*prev) : nullptr;
  dropStaleCurrent(cpu, scurr);
  if (!available_[cpu]) return handBack(cpu, scurr, now);
  const bool ranHere = scurr != nullptr && scurr->onCpu == static_cast<int>(cpu);
  if (ranHere) burnCredits(*scurr, now);

  Decision d;
  if (ranHere && keepForRatelimit(*scurr, now, d)) return d;
  if (scurr != nullptr && canRun(*scurr) && scurr->runqCpu < 0 && (ranHere || scurr->onCpu < 0))
    runqInsert(*scurr, cpu);
  if (scurr != nullptr) scurr->yielding = false;

  bool stolen = false;
  CreditVcpu* snext = pickNext(cpu, stolen);
  setCurrent(cpu, snext);
  // Idle pCPUs are the ones wake-ups and tickles look for.
  if (snext == nullptr)
    idlers_.set(cpu);
  else
    idlers_.reset(cpu);
  if (scurr != nullptr && scurr->migrating) moveAway(*scurr);
  if (snext == nullptr) return d;

  if (snext != scurr || !ranHere) snext->runStart = now;
  snext->startTime = now;
  d.next = snext->vcpu;
  d.slice = tslice_;
  d.migrated = stolen || (snext->vcpu->pcpu >= 0 && snext->vcpu->pcpu != static_cast<int>(cpu));
  return d;
}

/// What this policy last chose for `cpu` but the framework did not run there
/// (it reports another `prev`) goes back to a runqueue instead of getting lost.
void CreditPolicy::dropStaleCurrent(unsigned cpu, const CreditVcpu* prev) {
  CreditVcpu* stale = curr_[cpu];
  if (stale == nullptr || stale == prev) return;
  setCurrent(cpu, nullptr);
  stale->migrating = false;
  if (canRun(*stale) && stale->runqCpu < 0) queueAndTickle(*stale);
}

/// Rate limiting: a vCPU that has run for less than ratelimit continues (for
/// the rest of it), unless it yielded, blocked or was parked.
bool CreditPolicy::keepForRatelimit(CreditVcpu& c, Ns now, Decision& d) {
  if (c.yielding || ratelimit_ == 0 || !canRun(c)) return false;
  const Ns runtime = std::max<Ns>(now - c.runStart, 0);
  if (runtime >= ratelimit_) return false;
  c.startTime = now;
  d.next = c.vcpu;
  d.slice = std::max(ratelimit_ - runtime, kMinTimer);
  return true;
}

/// The head of the local runqueue, unless it would run OVER (or the pCPU would
/// idle) while another pCPU has higher-priority work waiting (csched_schedule).
CreditVcpu* CreditPolicy::pickNext(unsigned cpu, bool& stolen) {
  auto& q = runq_[cpu];
  CreditVcpu* snext = q.empty() ? nullptr : q.front();
  const Pri pri = snext != nullptr ? snext->pri : Pri::Idle;
  if (pri > Pri::Over) {
    runqRemove(*snext);
    return snext;
  }
  if (CreditVcpu* s = loadBalance(cpu, pri)) {
    stolen = true;
    return s;
  }
  if (snext != nullptr) runqRemove(*snext);
  return snext;
}

/// Looks at the busy pCPUs' runqueues, starting after the one last stolen
/// from so no pCPU is always robbed first (csched_load_balance).
CreditVcpu* CreditPolicy::loadBalance(unsigned cpu, Pri pri) {
  for (unsigned k = 1; k <= ncpus_; ++k) {
    const unsigned peer = (balanceBias_ + k) % ncpus_;
    if (peer == cpu || runq_[peer].empty()) continue;
    // An idle pCPU (tickled or not) is about to take its own work; a lent one is not.
    if (available_[peer] && curr_[peer] == nullptr) continue;
    if (CreditVcpu* c = steal(peer, cpu, pri)) {
      balanceBias_ = peer;
      return c;
    }
  }
  return nullptr;
}

/// The first vCPU on `peer`'s runqueue of strictly higher priority than `pri`
/// that may run on `cpu` (csched_runq_steal).
CreditVcpu* CreditPolicy::steal(unsigned peer, unsigned cpu, Pri pri) {
  for (CreditVcpu* c : runq_[peer]) {
    if (c->pri <= pri) break;  // the rest is no better than what we have
    if (c->vcpu->running || !c->vcpu->hardAffinity.test(cpu)) continue;
    runqRemove(*c);
    return c;
  }
  return nullptr;
}

/// A vCPU whose tick found a better pCPU, now descheduled: it goes to that
/// pCPU's runqueue (Xen's vcpu_migrate; no boost: it did not block).
void CreditPolicy::moveAway(CreditVcpu& c) {
  c.migrating = false;
  if (!canRun(c) || c.runqCpu >= 0 || c.onCpu >= 0) return;
  queueAndTickle(c);
}

/// `cpu` is lent away: what ran there goes elsewhere and the pCPU idles for us.
Decision CreditPolicy::handBack(unsigned cpu, CreditVcpu* prev, Ns now) {
  if (prev != nullptr && prev->onCpu == static_cast<int>(cpu)) burnCredits(*prev, now);
  setCurrent(cpu, nullptr);
  idlers_.reset(cpu);
  if (prev != nullptr) {
    prev->yielding = false;
    prev->migrating = false;
    if (canRun(*prev) && prev->runqCpu < 0) queueAndTickle(*prev);
  }
  return {};
}

Status CreditPolicy::setPcpuAvailable(unsigned pcpu, bool available) {
  if (pcpu >= ncpus_) return error(EINVAL, fmt::format("no pCPU {} (credit has {})", pcpu, ncpus_));
  if (available_[pcpu] == available) return Status::ok();
  available_[pcpu] = available;
  if (available) {
    host_.tickle(pcpu);  // run what waited for it, or steal
    return Status::ok();
  }
  idlers_.reset(pcpu);
  // Queued work that may run elsewhere moves now; what runs there follows
  // when the pCPU hands it back (doSchedule), the rest waits for its return.
  const std::vector<CreditVcpu*> queued(runq_[pcpu].begin(), runq_[pcpu].end());
  for (CreditVcpu* c : queued) {
    if ((c->vcpu->hardAffinity & availableMask()).none()) continue;
    runqRemove(*c);
    queueAndTickle(*c);
  }
  if (curr_[pcpu] != nullptr) host_.tickle(pcpu);
  return Status::ok();
}

}  // namespace credit

std::unique_ptr<SchedPolicy> makeCreditPolicy(SchedHost& host) {
  const unsigned n = host.pcpuCount();
  if (n == 0 || n > kMaxPcpus) return nullptr;
  return std::make_unique<credit::CreditPolicy>(host);
}

}  // namespace smartvm::sched
