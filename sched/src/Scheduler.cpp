#include "smartvm/sched/Scheduler.h"

#include <fmt/format.h>

#include <sstream>
#include <utility>

namespace smartvm::sched {
namespace {

Ns& bucket(Runstate& r, VcpuState s) {
  switch (s) {
    case VcpuState::Running: return r.running;
    case VcpuState::Runnable: return r.runnable;
    case VcpuState::Blocked: return r.blocked;
    case VcpuState::Paused: return r.paused;
    case VcpuState::Offline: break;
  }
  return r.offline;
}

bool runnableState(VcpuState s) { return s == VcpuState::Runnable || s == VcpuState::Running; }

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::create(std::string_view policy, unsigned pcpus, ClockFn clock,
                                                     PcpuSignal& signal) {
  return createWith([policy](SchedHost& host) { return PolicyRegistry::builtin().create(policy, host); }, pcpus,
                    std::move(clock), signal);
}

Result<std::unique_ptr<Scheduler>> Scheduler::createWith(const PolicyMaker& make, unsigned pcpus, ClockFn clock,
                                                         PcpuSignal& signal) {
  if (pcpus == 0 || pcpus > kMaxPcpus) return error(EINVAL, fmt::format("pCPU count {} out of range 1..{}", pcpus, kMaxPcpus));
  std::unique_ptr<Scheduler> s(new Scheduler(pcpus, std::move(clock), signal));
  auto p = make(*s);
  if (!p.isOk()) return p.status();
  s->policy_ = std::move(p).value();
  return s;
}

Scheduler::Scheduler(unsigned pcpus, ClockFn clock, PcpuSignal& signal)
    : pcpus_(pcpus), clock_(std::move(clock)), signal_(signal), current_(pcpus, nullptr), tickled_(pcpus, false) {}

Scheduler::~Scheduler() = default;

void Scheduler::tickle(unsigned pcpu) {
  if (pcpu < pcpus_) tickled_[pcpu] = true;
}

/// Signals the tickled pCPUs with the lock dropped: a pCPU's signal may run
/// straight into schedule(), which takes the lock.
void Scheduler::flushTickles(std::unique_lock<std::mutex>& lk) {
  std::vector<unsigned> todo;
  for (unsigned p = 0; p < pcpus_; ++p) {
    if (!tickled_[p]) continue;
    tickled_[p] = false;
    todo.push_back(p);
  }
  const bool waiter = std::exchange(newWaiter_, false);
  lk.unlock();
  for (unsigned p : todo) signal_.reschedule(p);
  if (waiter) signal_.waiting();
}

SchedVcpu* Scheduler::find(uint32_t domid, uint32_t vcpu) const {
  auto it = domains_.find(domid);
  if (it == domains_.end() || vcpu >= it->second.vcpus.size()) return nullptr;
  return it->second.vcpus[vcpu].get();
}

void Scheduler::setState(SchedVcpu& v, VcpuState s, Ns now) {
  Runstate& r = domains_.at(v.domid).runstates[v.id];
  bucket(r, r.state) += now - r.stateEntry;
  r.state = s;
  r.stateEntry = now;
  v.state = s;
  if (s == VcpuState::Runnable) newWaiter_ = true;
}

Status Scheduler::addDomain(uint32_t domid, std::string name, unsigned vcpus, WorkType work) {
  std::unique_lock lk(m_);
  if (domains_.count(domid) != 0) return error(EEXIST, fmt::format("domain {} is already scheduled", domid));
  if (vcpus == 0) return error(EINVAL, "a domain needs at least one vCPU");
  DomainEntry e;
  e.domain = std::make_unique<SchedDomain>();
  e.domain->domid = domid;
  e.domain->name = std::move(name);
  e.domain->configuredWork = work;
  const Ns now = clock_();
  for (unsigned i = 0; i < vcpus; ++i) {
    auto v = std::make_unique<SchedVcpu>();
    v->domid = domid;
    v->id = i;
    v->domain = e.domain.get();
    e.domain->vcpus.push_back(v.get());
    e.vcpus.push_back(std::move(v));
    e.runstates.push_back(Runstate{VcpuState::Offline, now});
  }
  DomainEntry& d = domains_[domid] = std::move(e);
  policy_->insertDomain(*d.domain);
  for (auto& v : d.vcpus) policy_->insertVcpu(*v);
  flushTickles(lk);
  return Status::ok();
}

Status Scheduler::removeDomain(uint32_t domid) {
  std::unique_lock lk(m_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return error(ESRCH, fmt::format("no domain {}", domid));
  for (auto& v : it->second.vcpus)
    if (v->running) return error(EBUSY, fmt::format("vCPU {} of domain {} is running", v->id, domid));
  const Ns now = clock_();
  for (auto& v : it->second.vcpus) {
    if (runnableState(v->state) && rewake_.erase(v.get()) == 0) policy_->sleep(*v, now);
    policy_->removeVcpu(*v);
  }
  policy_->removeDomain(*it->second.domain);
  domains_.erase(it);
  flushTickles(lk);
  return Status::ok();
}

Status Scheduler::change(uint32_t domid, uint32_t vcpu, VcpuState to) {
  std::unique_lock lk(m_);
  SchedVcpu* v = find(domid, vcpu);
  if (v == nullptr) return error(ESRCH, fmt::format("no vCPU {} in domain {}", vcpu, domid));
  const Ns now = clock_();
  const bool was = runnableState(v->state);
  if (to == VcpuState::Runnable) {
    if (!was) {
      setState(*v, VcpuState::Runnable, now);
      policy_->wake(*v, now);
    }
  } else if (v->state != to) {
    // A running vCPU keeps its bucket until its pCPU deschedules it.
    setState(*v, to, now);
    if (was && rewake_.erase(v) == 0) policy_->sleep(*v, now);
    if (v->running) tickle(static_cast<unsigned>(v->pcpu));
  }
  flushTickles(lk);
  return Status::ok();
}

Status Scheduler::wake(uint32_t domid, uint32_t vcpu) { return change(domid, vcpu, VcpuState::Runnable); }
Status Scheduler::block(uint32_t domid, uint32_t vcpu) { return change(domid, vcpu, VcpuState::Blocked); }
Status Scheduler::pause(uint32_t domid, uint32_t vcpu) { return change(domid, vcpu, VcpuState::Paused); }
Status Scheduler::offline(uint32_t domid, uint32_t vcpu) { return change(domid, vcpu, VcpuState::Offline); }

Status Scheduler::yield(uint32_t domid, uint32_t vcpu) {
  std::unique_lock lk(m_);
  SchedVcpu* v = find(domid, vcpu);
  if (v == nullptr) return error(ESRCH, fmt::format("no vCPU {} in domain {}", vcpu, domid));
  if (v->running) {
    policy_->yield(*v);
    tickle(static_cast<unsigned>(v->pcpu));
  }
  flushTickles(lk);
  return Status::ok();
}

Status Scheduler::workHint(uint32_t domid, uint32_t vcpu, WorkHint hint) {
  std::unique_lock lk(m_);
  SchedVcpu* v = find(domid, vcpu);
  if (v == nullptr) return error(ESRCH, fmt::format("no vCPU {} in domain {}", vcpu, domid));
  Status s = policy_->workHint(*v, hint, clock_());
  flushTickles(lk);
  return s;
}

Status Scheduler::pin(uint32_t domid, uint32_t vcpu, const CpuMask& mask) {
  CpuMask valid;
  for (unsigned p = 0; p < pcpus_; ++p) valid.set(p);
  if ((mask & valid).none()) return error(EINVAL, fmt::format("affinity names none of the {} pCPUs", pcpus_));
  std::unique_lock lk(m_);
  SchedVcpu* v = find(domid, vcpu);
  if (v == nullptr) return error(ESRCH, fmt::format("no vCPU {} in domain {}", vcpu, domid));
  v->hardAffinity = mask & valid;
  const Ns now = clock_();
  if (v->running) {
    // Out of the policy's hands until its pCPU lets go of it, then requeued
    // where the new mask allows (Xen's vcpu_migrate after a pin).
    if (!v->hardAffinity.test(static_cast<unsigned>(v->pcpu)) && rewake_.insert(v).second) {
      policy_->sleep(*v, now);
      tickle(static_cast<unsigned>(v->pcpu));
    }
  } else if (runnableState(v->state)) {
    policy_->sleep(*v, now);  // requeue where the new mask allows
    policy_->wake(*v, now);
  }
  flushTickles(lk);
  return Status::ok();
}

PcpuChoice Scheduler::schedule(unsigned pcpu) {
  std::unique_lock lk(m_);
  const Ns now = clock_();
  SchedVcpu* prev = current_[pcpu];
  const bool prevRunnable = prev != nullptr && prev->state == VcpuState::Running && rewake_.count(prev) == 0;
  Decision d = policy_->doSchedule(pcpu, prev, prevRunnable, now);
  tickled_[pcpu] = false;  // deciding right now
  if (prev != nullptr && prev != d.next) {
    prev->running = false;
    if (prev->state == VcpuState::Running) setState(*prev, VcpuState::Runnable, now);
    current_[pcpu] = nullptr;
    if (rewake_.erase(prev) != 0 && prev->state == VcpuState::Runnable) policy_->wake(*prev, now);
    released_.notify_all();
  }
  PcpuChoice c;
  c.slice = d.slice;
  if (d.next != nullptr && !runnableState(d.next->state)) d.next = nullptr;  // never run a sleeper
  if (d.next != nullptr && d.next->running && d.next->pcpu != static_cast<int>(pcpu)) {
    c.next = d.next;
    c.busyOn = d.next->pcpu;
    tickle(static_cast<unsigned>(d.next->pcpu));
  } else if (d.next != nullptr) {
    c.next = d.next;
    d.next->running = true;
    d.next->pcpu = static_cast<int>(pcpu);
    if (d.next->state != VcpuState::Running) setState(*d.next, VcpuState::Running, now);
    current_[pcpu] = d.next;
    // A vCPU that became runnable while this pCPU was being decided waits
    // behind the new holder now: say so, as for a fresh waiter.
    if (!newWaiter_ && waiterFor(pcpu)) newWaiter_ = true;
  }
  flushTickles(lk);
  return c;
}

bool Scheduler::claim(unsigned pcpu, SchedVcpu* next) {
  std::unique_lock lk(m_);
  if (next->running || !runnableState(next->state) || current_[pcpu] != nullptr) return false;
  next->running = true;
  next->pcpu = static_cast<int>(pcpu);
  setState(*next, VcpuState::Running, clock_());
  current_[pcpu] = next;
  return true;
}

bool Scheduler::waitAndClaim(unsigned pcpu, SchedVcpu* next) {
  {
    std::unique_lock lk(m_);
    released_.wait(lk, [&] { return !next->running || !runnableState(next->state); });
  }
  return claim(pcpu, next);
}

void Scheduler::tick(unsigned pcpu) {
  std::unique_lock lk(m_);
  policy_->tick(pcpu, clock_());
  flushTickles(lk);
}

Ns Scheduler::tickPeriod() const {
  std::lock_guard lk(m_);
  return policy_->tickPeriod();
}

SchedVcpu* Scheduler::vcpu(uint32_t domid, uint32_t vcpu) const {
  std::lock_guard lk(m_);
  return find(domid, vcpu);
}

SchedVcpu* Scheduler::current(unsigned pcpu) const {
  std::lock_guard lk(m_);
  return pcpu < pcpus_ ? current_[pcpu] : nullptr;
}

bool Scheduler::waiterFor(unsigned pcpu) const {
  for (const auto& [domid, d] : domains_) {
    for (const auto& v : d.vcpus) {
      if (v->state == VcpuState::Runnable && !v->running && v->hardAffinity.test(pcpu)) return true;
    }
  }
  return false;
}

SchedVcpu* Scheduler::holderWithWaiter(unsigned pcpu) const {
  std::lock_guard lk(m_);
  if (pcpu >= pcpus_ || current_[pcpu] == nullptr) return nullptr;
  return waiterFor(pcpu) ? current_[pcpu] : nullptr;
}

Result<Runstate> Scheduler::runstate(uint32_t domid, uint32_t vcpu) const {
  std::lock_guard lk(m_);
  if (find(domid, vcpu) == nullptr) return error(ESRCH, fmt::format("no vCPU {} in domain {}", vcpu, domid));
  Runstate r = domains_.at(domid).runstates[vcpu];
  bucket(r, r.state) += clock_() - r.stateEntry;  // up to now; stateEntry stays when the state began
  return r;
}

Result<Placement> Scheduler::placement(uint32_t domid, uint32_t vcpu) const {
  std::lock_guard lk(m_);
  const SchedVcpu* v = find(domid, vcpu);
  if (v == nullptr) return error(ESRCH, fmt::format("no vCPU {} in domain {}", vcpu, domid));
  return Placement{v->pcpu, v->hardAffinity};
}

Result<Params> Scheduler::domainParams(uint32_t domid) const {
  std::lock_guard lk(m_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return error(ESRCH, fmt::format("no domain {}", domid));
  return policy_->domainParams(*it->second.domain);
}

Status Scheduler::setDomainParams(uint32_t domid, const Params& p) {
  std::unique_lock lk(m_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return error(ESRCH, fmt::format("no domain {}", domid));
  Status s = policy_->setDomainParams(*it->second.domain, p);
  flushTickles(lk);
  return s;
}

Params Scheduler::globalParams() const {
  std::lock_guard lk(m_);
  return policy_->globalParams();
}

Status Scheduler::setGlobalParams(const Params& p) {
  std::unique_lock lk(m_);
  Status s = policy_->setGlobalParams(p);
  flushTickles(lk);
  return s;
}

std::string Scheduler::policyName() const { return std::string(policy_->name()); }

std::string Scheduler::dump() const {
  std::lock_guard lk(m_);
  std::ostringstream out;
  for (unsigned p = 0; p < pcpus_; ++p) {
    const SchedVcpu* v = current_[p];
    out << fmt::format("pCPU{}: {}\n", p, v ? fmt::format("d{}v{}", v->domid, v->id) : std::string("idle"));
  }
  policy_->dump(out);
  return out.str();
}

}  // namespace smartvm::sched
