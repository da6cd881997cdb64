// The simulator's workloads: what a vCPU does while it runs (bursts of work
// that end in a yield, a block, or a barrier), and what wakes it again.
#include <algorithm>
#include <cmath>

#include "smartvm/sched/sim/Simulator.h"

namespace smartvm::sched::sim {

// ---------------------------------------------------------------- progress

/// Work proceeds from `from`; the piece ends, unless interrupted, `remaining` later.
void Simulator::startProgress(VcpuSim& s, Ns from) {
  s.progressing = true;
  s.progressFrom = from;
  ++s.burstGen;
  if (s.remaining != kForever) {
    push(Event::Kind::BurstEnd, from + s.remaining, static_cast<uint32_t>(&s - vcpus_.data()), s.burstGen);
  }
}

/// The vCPU left its pCPU (or was paused): keep the work it did, drop its BurstEnd.
void Simulator::stopProgress(VcpuSim& s) {
  if (!s.progressing) return;
  const Ns done = std::max<Ns>(0, now_ - s.progressFrom);  // nothing during a context switch
  if (s.remaining != kForever) s.remaining -= std::min(done, s.remaining);
  s.progressing = false;
  ++s.burstGen;
}

/// The vCPU has work. If it is still on its pCPU (it finished a piece and
/// goes straight on) the work continues at once; otherwise it is woken, and
/// with `measure` its wake-to-running latency is recorded.
void Simulator::makeRunnable(VcpuSim& s, bool measure) {
  s.phase = Phase::Working;
  if (domains_[s.domain].pauseDepth > 0) return;  // unpausing wakes it
  if (s.sv->running && s.sv->state == VcpuState::Running) {
    flushHints(s);
    if (!s.progressing) startProgress(s, now_);
    return;
  }
  if (measure) s.wokeAt = now_;
  (void)sched_->wake(s.sv->domid, s.sv->id);  // cannot fail: the vCPU exists
}

/// The vCPU waits (I/O, barrier, between tasks) or has finished (Offline).
void Simulator::makeBlocked(VcpuSim& s, Phase phase) {
  stopProgress(s);
  s.phase = phase;
  s.wokeAt = -1;
  if (domains_[s.domain].pauseDepth > 0) return;  // unpausing sets the state
  const uint32_t domid = s.sv->domid, id = s.sv->id;
  (void)(phase == Phase::Offline ? sched_->offline(domid, id) : sched_->block(domid, id));
}

void Simulator::onBurstEnd(uint32_t vcpu, uint64_t gen) {
  VcpuSim& s = vcpus_[vcpu];
  if (gen != s.burstGen || !s.progressing) return;  // stale: it left its pCPU meanwhile
  s.progressing = false;
  s.remaining = 0;
  const Workload& w = domains_[s.domain].spec->workload;
  switch (w.kind) {
    case Workload::Kind::CpuBound:
      // A spin loop's yield: the pCPU decides again; the work goes on if it stays.
      (void)sched_->yield(s.sv->domid, s.sv->id);
      s.remaining = w.yieldEvery;
      startProgress(s, now_);
      return;
    case Workload::Kind::Io:
      makeBlocked(s, Phase::Blocked);
      push(Event::Kind::IoWake, now_ + w.block.sample(rng_), vcpu);
      return;
    case Workload::Kind::Parallel:
      if (domains_[s.domain].inSerial) {
        serialTaskDone(domains_[s.domain], s);
        return;
      }
      chunkDone(s);
      return;
  }
}

void Simulator::onIoWake(uint32_t vcpu) {
  VcpuSim& s = vcpus_[vcpu];
  s.remaining = domains_[s.domain].spec->workload.run.sample(rng_);
  makeRunnable(s, true);
}

// ---------------------------------------------------------------- parallel tasks

/// All vCPUs of the domain join a new task and get their first chunk (after
/// the domain's serial tasks, when it has any still to run).
void Simulator::onTaskStart(uint32_t domain) {
  DomainSim& d = domains_[domain];
  if (d.serialDone < d.spec->workload.serialTasks) {
    startSerial(d);
    return;
  }
  d.layer = 0;
  d.finished = 0;
  d.taskStart = now_;
  const bool guest = d.spec->workload.guestHints;
  for (uint32_t v = 0; v < d.spec->vcpus; ++v) {
    VcpuSim& s = vcpus_[d.firstVcpu + v];
    if (guest) {
      s.pendingBegin = true;  // said by the vCPU itself once it runs (at once if it does)
    } else {
      hint(s, WorkHint::ConcurrentBegin);
    }
    s.remaining = chunkFor(d, v);
    makeRunnable(s, false);
  }
}

// ---------------------------------------------------------------- serial tasks

/// vCPU 0 runs a serial task alone; the others wait blocked (as a guest's
/// secondary vCPUs wait for vCPU 0 to release them).
void Simulator::startSerial(DomainSim& d) {
  d.inSerial = true;
  d.serialStart = now_;
  VcpuSim& v0 = vcpus_[d.firstVcpu];
  for (uint32_t v = 1; v < d.spec->vcpus; ++v) {
    VcpuSim& s = vcpus_[d.firstVcpu + v];
    if (s.phase != Phase::Blocked) makeBlocked(s, Phase::Blocked);
  }
  v0.remaining = d.spec->workload.serialWork;
  makeRunnable(v0, false);
}

/// vCPU 0 finished a serial task: the next one, or the parallel tasks, follow at once.
void Simulator::serialTaskDone(DomainSim& d, VcpuSim& v0) {
  d.serialTimes.push_back(now_ - d.serialStart);
  d.inSerial = false;
  if (++d.serialDone < d.spec->workload.serialTasks) {
    d.inSerial = true;
    d.serialStart = now_;
    v0.remaining = d.spec->workload.serialWork;
    startProgress(v0, now_);
    return;
  }
  onTaskStart(static_cast<uint32_t>(&d - domains_.data()));
}

/// A vCPU finished its chunk of the layer: it waits at the barrier (blocked),
/// unless it is the last one, which opens the next layer.
void Simulator::chunkDone(VcpuSim& s) {
  DomainSim& d = domains_[s.domain];
  hint(s, WorkHint::LayerDone);
  if (++d.finished < d.spec->vcpus) {
    makeBlocked(s, Phase::Blocked);
    return;
  }
  layerComplete(d, s);
}

void Simulator::layerComplete(DomainSim& d, VcpuSim& last) {
  d.finished = 0;
  if (++d.layer >= d.spec->workload.layers) {
    taskComplete(d, last);
    return;
  }
  for (uint32_t v = 0; v < d.spec->vcpus; ++v) {
    VcpuSim& s = vcpus_[d.firstVcpu + v];
    s.remaining = chunkFor(d, v);
    makeRunnable(s, &s != &last);  // the last one is still running: it goes straight on
  }
}

void Simulator::taskComplete(DomainSim& d, VcpuSim& last) {
  const Workload& w = d.spec->workload;
  d.taskTimes.push_back(now_ - d.taskStart);
  ++d.tasksDone;
  const bool more = w.tasks == 0 || d.tasksDone < w.tasks;
  if (!more) {
    d.doneAt = now_;
    ++doneDomains_;
  }
  if (w.guestHints && more && w.taskGap == 0) {
    // Each vCPU says End (and Begin for the next task) itself when it runs:
    // the last one at once, the others once woken from the final barrier.
    for (uint32_t v = 0; v < d.spec->vcpus; ++v) vcpus_[d.firstVcpu + v].pendingEnd = true;
  } else {
    // Without guestHints, or a vCPU that then blocks or leaves: End now.
    for (uint32_t v = 0; v < d.spec->vcpus; ++v) hint(vcpus_[d.firstVcpu + v], WorkHint::ConcurrentEnd);
  }
  if (more && w.taskGap == 0) {
    onTaskStart(static_cast<uint32_t>(&d - domains_.data()));
    return;
  }
  // The others already wait (blocked) at the final barrier.
  makeBlocked(last, more ? Phase::Blocked : Phase::Offline);
  if (more) {
    push(Event::Kind::TaskStart, now_ + w.taskGap, static_cast<uint32_t>(&d - domains_.data()));
    return;
  }
  for (uint32_t v = 0; v < d.spec->vcpus; ++v)
    if (&vcpus_[d.firstVcpu + v] != &last) makeBlocked(vcpus_[d.firstVcpu + v], Phase::Offline);
}

Ns Simulator::chunkFor(const DomainSim& d, uint32_t vcpuId) {
  const Workload& w = d.spec->workload;
  const Ns base = w.chunks.empty() ? w.chunk : w.chunks[vcpuId];
  if (w.chunkJitter <= 0) return base;
  std::uniform_real_distribution<double> f(1.0 - w.chunkJitter, 1.0 + w.chunkJitter);
  return std::max<Ns>(1, static_cast<Ns>(std::llround(static_cast<double>(base) * f(rng_))));
}

/// Sends a work hint. Domains configured concurrent are in their task from the
/// start, so they get no begin/end hints (the parallel policy would refuse them).
void Simulator::hint(VcpuSim& s, WorkHint h) {
  if (h != WorkHint::LayerDone && domains_[s.domain].spec->work == WorkType::Concurrent) return;
  ++hintsSent_[static_cast<int>(h)];
  Status st = sched_->workHint(s.sv->domid, s.sv->id, h);
  if (st.isOk()) return;
  if (hintErrors_++ == 0) firstHintError_ = st.message();
}

/// guestHints: the hints a vCPU owes, said now that it runs: End of the last
/// task, then Begin of the next.
void Simulator::flushHints(VcpuSim& s) {
  if (s.pendingEnd) {
    s.pendingEnd = false;
    hint(s, WorkHint::ConcurrentEnd);
  }
  if (s.pendingBegin) {
    s.pendingBegin = false;
    hint(s, WorkHint::ConcurrentBegin);
  }
}

// ---------------------------------------------------------------- pause

/// xl pause / unpause of a whole domain; pauses nest as Xen's pause counts do.
void Simulator::onPause(uint32_t domain, bool pause) {
  DomainSim& d = domains_[domain];
  if (pause ? d.pauseDepth++ > 0 : --d.pauseDepth > 0) return;
  for (uint32_t v = 0; v < d.spec->vcpus; ++v) {
    VcpuSim& s = vcpus_[d.firstVcpu + v];
    const uint32_t domid = s.sv->domid, id = s.sv->id;
    if (pause) {
      stopProgress(s);
      s.wokeAt = -1;
      (void)sched_->pause(domid, id);
    } else if (s.phase == Phase::Working) {
      (void)sched_->wake(domid, id);
    } else {
      (void)(s.phase == Phase::Offline ? sched_->offline(domid, id) : sched_->block(domid, id));
    }
  }
}

}  // namespace smartvm::sched::sim
