// The simulator's set-up, event loop and pCPU side: what the real pCPU loop
// does on a tickle, a slice timer, a tick or a hand-over, on simulated time.
#include "smartvm/sched/sim/Simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "TimedPolicy.h"

namespace smartvm::sched::sim {

// ---------------------------------------------------------------- set-up

Result<std::unique_ptr<Simulator>> Simulator::create(const SimConfig& config, const PolicyMaker& make) {
  SMARTVM_TRY(validate(config));
  std::unique_ptr<Simulator> s(new Simulator(config));
  SMARTVM_TRY(s->init(make));
  return s;
}

Result<std::unique_ptr<Simulator>> Simulator::create(const SimConfig& config, std::string_view policy) {
  const std::string name(policy);
  return create(config, [name](SchedHost& host) { return PolicyRegistry::builtin().create(name, host); });
}

Simulator::Simulator(const SimConfig& config)
    : config_(config), signal_(*this), rng_(config.seed), pcpus_(config.pcpus) {}

Simulator::~Simulator() = default;

Status Simulator::init(const PolicyMaker& make) {
  // Wrap whatever `make` builds so that doSchedule is timed; the wrapper is
  // owned by the Scheduler, which outlives every use of timer_.
  auto timed = [this, &make](SchedHost& host) -> Result<std::unique_ptr<SchedPolicy>> {
    auto p = make(host);
    if (!p.isOk()) return p.status();
    auto t = std::make_unique<TimedPolicy>(std::move(p).value());
    timer_ = t.get();
    return std::unique_ptr<SchedPolicy>(std::move(t));
  };
  auto s = Scheduler::createWith(timed, config_.pcpus, [this] { return now_; }, signal_);
  if (!s.isOk()) return s.status();
  sched_ = std::move(s).value();
  if (!config_.globalParams.empty()) {
    Status st = sched_->setGlobalParams(config_.globalParams);
    if (!st.isOk()) return error(st.code(), "globalParams: " + st.message());
  }
  return addDomains();
}

Status Simulator::addDomains() {
  vcpus_.reserve(totalVcpus(config_));
  for (uint32_t i = 0; i < config_.domains.size(); ++i) {
    const DomainSpec& spec = config_.domains[i];
    const uint32_t domid = i + 1;
    const std::string name = spec.name.empty() ? fmt::format("d{}", domid) : spec.name;
    SMARTVM_TRY(sched_->addDomain(domid, name, spec.vcpus, spec.work));
    Status st = sched_->setDomainParams(domid, spec.params);
    if (!st.isOk()) return error(st.code(), fmt::format("domains[{}] ({}) params: {}", i, name, st.message()));
    DomainSim d;
    d.spec = &config_.domains[i];
    d.firstVcpu = static_cast<uint32_t>(vcpus_.size());
    domains_.push_back(std::move(d));
    for (uint32_t v = 0; v < spec.vcpus; ++v) vcpus_.push_back(VcpuSim{sched_->vcpu(domid, v), i});
  }
  return Status::ok();
}

/// Time zero: endless workloads wake, tasks and pauses are scheduled, and the
/// pCPUs' ticks are spread over one period so they do not all fire together.
void Simulator::start() {
  for (uint32_t i = 0; i < domains_.size(); ++i) {
    const DomainSpec& spec = *domains_[i].spec;
    for (const PauseWindow& p : spec.pauses) {
      push(Event::Kind::Pause, p.at, i);
      push(Event::Kind::Unpause, p.at + p.length, i);
    }
    if (spec.workload.kind == Workload::Kind::Parallel) {
      if (spec.workload.tasks > 0) ++finiteDomains_;
      push(Event::Kind::TaskStart, spec.workload.start, i);
      continue;
    }
    for (uint32_t v = 0; v < spec.vcpus; ++v) {
      VcpuSim& s = vcpus_[domains_[i].firstVcpu + v];
      const Workload& w = spec.workload;
      s.remaining = w.kind == Workload::Kind::Io ? w.run.sample(rng_) : (w.yieldEvery > 0 ? w.yieldEvery : kForever);
      makeRunnable(s, false);
    }
  }
  const Ns period = sched_->tickPeriod();
  if (period <= 0) return;
  for (unsigned p = 0; p < config_.pcpus; ++p) push(Event::Kind::Tick, period * p / config_.pcpus, p);
}

// ---------------------------------------------------------------- event loop

Result<SimReport> Simulator::run(const ProgressFn& progress) {
  if (ran_) return error(EALREADY, "this simulation has already run");
  ran_ = true;
  const auto t0 = std::chrono::steady_clock::now();
  start();
  unsigned nextTenth = 1;
  // Policies that keep tickling each other would spin at one instant forever;
  // far more events at one time than the machine can explain means that.
  const uint64_t maxAtOnce = 64 * (uint64_t{config_.pcpus} + vcpus_.size()) + 1000;
  uint64_t atOnce = 0;
  while (!queue_.empty() && queue_.nextTime() < config_.duration && !allFiniteDone()) {
    const Event e = queue_.pop();
    atOnce = e.time == now_ ? atOnce + 1 : 0;
    if (atOnce > maxAtOnce)
      return error(ELOOP, fmt::format("the policy keeps rescheduling without time passing at t = {} ns", now_));
    now_ = e.time;
    handle(e);
    if (progress) reportProgress(progress, nextTenth);
  }
  now_ = end_ = allFiniteDone() ? now_ : config_.duration;
  if (progress) {
    while (nextTenth <= 10) progress(10 * nextTenth++);  // an early stop completes the run
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
  return buildReport(wall.count());
}

void Simulator::reportProgress(const ProgressFn& progress, unsigned& nextTenth) {
  while (nextTenth <= 10 && now_ >= config_.duration / 10 * static_cast<Ns>(nextTenth)) progress(10 * nextTenth++);
}

void Simulator::handle(const Event& e) {
  ++events_;
  mix(static_cast<uint64_t>(e.time));
  mix((static_cast<uint64_t>(e.kind) << 32) | e.target);
  switch (e.kind) {
    case Event::Kind::Reschedule: onReschedule(e.target); break;
    case Event::Kind::SliceEnd: onSliceEnd(e.target, e.gen); break;
    case Event::Kind::Tick: onTick(e.target); break;
    case Event::Kind::BurstEnd: onBurstEnd(e.target, e.gen); break;
    case Event::Kind::IoWake: onIoWake(e.target); break;
    case Event::Kind::TaskStart: onTaskStart(e.target); break;
    case Event::Kind::Pause: onPause(e.target, true); break;
    case Event::Kind::Unpause: onPause(e.target, false); break;
  }
}

void Simulator::push(Event::Kind kind, Ns at, uint32_t target, uint64_t gen) {
  Event e;
  e.time = at;
  e.kind = kind;
  e.target = target;
  e.gen = gen;
  queue_.push(e);
}

void Simulator::mix(uint64_t x) {
  hash_ = (hash_ ^ x) * 1099511628211ull;  // FNV-1a prime, a word at a time
}

// ---------------------------------------------------------------- the pCPU loop

/// A tickle: at most one Reschedule event per pCPU is queued at a time, at
/// the current time, so several tickles in one instant cost one decision.
void Simulator::requestReschedule(unsigned pcpu) {
  PcpuSim& pc = pcpus_[pcpu];
  if (pc.reschedPending) return;
  pc.reschedPending = true;
  push(Event::Kind::Reschedule, now_, pcpu);
}

void Simulator::onReschedule(unsigned pcpu) {
  PcpuSim& pc = pcpus_[pcpu];
  pc.reschedPending = false;
  if (pc.awaiting != nullptr) {  // a new decision supersedes the pending hand-over
    pc.awaiting = nullptr;
    --awaitingCount_;
  }
  SchedVcpu* prev = sched_->current(pcpu);
  const PcpuChoice c = sched_->schedule(pcpu);
  SchedVcpu* cur = sched_->current(pcpu);
  mix(c.next == nullptr ? UINT64_MAX : (static_cast<uint64_t>(c.next->domid) << 32 | c.next->id));
  if (prev != nullptr && prev != cur) released(*prev);
  if (c.busyOn >= 0) {
    // The vCPU still runs on pCPU busyOn, which the core has tickled; this
    // pCPU takes it over once it is released there (see released()).
    pc.awaiting = c.next;
    pc.awaitingSlice = c.slice;
    ++awaitingCount_;
    ++pc.sliceGen;
    return;
  }
  startOn(pcpu, cur, c.slice);
}

void Simulator::onSliceEnd(unsigned pcpu, uint64_t gen) {
  if (gen != pcpus_[pcpu].sliceGen || pcpus_[pcpu].reschedPending) return;
  onReschedule(pcpu);
}

void Simulator::onTick(unsigned pcpu) {
  sched_->tick(pcpu);
  push(Event::Kind::Tick, now_ + sched_->tickPeriod(), pcpu);
}

/// `v` left its pCPU: its work stops, and a pCPU waiting to take it over claims it.
void Simulator::released(SchedVcpu& v) {
  stopProgress(simOf(v));
  if (awaitingCount_ == 0) return;
  for (unsigned p = 0; p < pcpus_.size(); ++p)
    if (pcpus_[p].awaiting == &v) tryClaim(p);
}

void Simulator::tryClaim(unsigned pcpu) {
  PcpuSim& pc = pcpus_[pcpu];
  SchedVcpu* v = pc.awaiting;
  pc.awaiting = nullptr;
  --awaitingCount_;
  if (sched_->claim(pcpu, v)) {
    startOn(pcpu, v, pc.awaitingSlice);
  } else {
    requestReschedule(pcpu);  // it stopped being runnable meanwhile: decide again
  }
}

/// `v` (or nothing) runs on `pcpu` from now; the decision's slice arms the timer.
void Simulator::startOn(unsigned pcpu, SchedVcpu* v, Ns slice) {
  PcpuSim& pc = pcpus_[pcpu];
  if (v != nullptr) running(*v, pcpu);
  ++pc.sliceGen;
  if (slice >= 0) push(Event::Kind::SliceEnd, now_ + std::max<Ns>(slice, 1), pcpu, pc.sliceGen);
}

/// `v` is on `pcpu`: measure a pending wake-up and let its work proceed,
/// after the context-switch cost if the pCPU ran something else before.
void Simulator::running(SchedVcpu& v, unsigned pcpu) {
  PcpuSim& pc = pcpus_[pcpu];
  VcpuSim& s = simOf(v);
  Ns from = now_;
  if (pc.lastRan != &v) {
    ++contextSwitches_;
    from += config_.switchCost;
    pc.lastRan = &v;
  }
  if (s.wokeAt >= 0) {
    domains_[s.domain].latencies.push_back(now_ - s.wokeAt);
    s.wokeAt = -1;
  }
  if (s.phase != Phase::Working) return;
  flushHints(s);
  if (!s.progressing) startProgress(s, from);
}

}  // namespace smartvm::sched::sim
