#include <fmt/format.h>

#include "ParallelPolicyImpl.h"

namespace smartvm::sched::parallel {

// ---------------------------------------------------------------- vCPU events

void ParallelPolicy::removeVcpu(SchedVcpu& v) {
  VcpuInfo& i = info(v);
  if (i.concurrent) leaveWaiting(v);
  if (i.gangPcpu >= 0) giveBack(static_cast<unsigned>(i.gangPcpu), host_.now());
  if (!i.concurrent && !i.endGrace && i.runnable) --commonRunnable_;
  for (auto& c : commonOn_)
    if (c == &v) c = nullptr;
  vcpus_.erase(&v);
  common_->removeVcpu(v);
}

void ParallelPolicy::sleep(SchedVcpu& v, Ns now) {
  VcpuInfo& i = info(v);
  if (!i.runnable) return;
  i.runnable = false;
  if (i.endGrace) {  // the common policy was never told it woke
    endGraceOf(v, now);
    endBatchIfIdle(v.domain, now);
    dispatch(now);
    return;
  }
  if (!i.concurrent) {
    --commonRunnable_;
    common_->sleep(v, now);
    return;
  }
  leaveWaiting(v);
  if (i.gangPcpu >= 0) giveBack(static_cast<unsigned>(i.gangPcpu), now);
  advanceLayerIfComplete(v.domain, now);
  endBatchIfIdle(v.domain, now);
  dispatch(now);
}

void ParallelPolicy::wake(SchedVcpu& v, Ns now) {
  VcpuInfo& i = info(v);
  if (i.runnable) return;
  i.runnable = true;
  if (!i.concurrent) {
    ++commonRunnable_;
    common_->wake(v, now);
    return;
  }
  // A vCPU that finished the layer keeps that mark when it wakes: a wake is
  // not proof that the barrier let it go (a timer or the halt check wakes it
  // inside the barrier too), and forgetting the mark would keep the layer
  // from completing when the last part is done.
  toWaiting(v);
  dispatch(now);
}

Status ParallelPolicy::workHint(SchedVcpu& v, WorkHint hint, Ns now) {
  const VcpuInfo& i = info(v);
  switch (hint) {
    case WorkHint::ConcurrentBegin:
      // A domain configured concurrent starts in its phase: the guest's own
      // Begin (it does not know the config) confirms it.
      if (i.concurrent && task(v).configuredConcurrent) return Status::ok();
      if (i.concurrent) return error(EINVAL, "vCPU is already in a parallel phase");
      beginConcurrent(v, now);
      return Status::ok();
    case WorkHint::ConcurrentEnd:
      if (!i.concurrent) return error(EINVAL, "vCPU is not in a parallel phase");
      endConcurrent(v, now);
      return Status::ok();
    case WorkHint::LayerDone:
      if (!i.concurrent) return error(EINVAL, "layer done outside a parallel phase");
      // A second LayerDone means the guest's barrier let this vCPU through:
      // every part of the layer had finished, though the policy's view lagged
      // (a vCPU that slept mid-layer counted as waiting at the barrier, then
      // woke). The task catches up to the guest rather than refusing it, but
      // within its current batch: a guest repeating LayerDone must not
      // renew its batch and keep queued tasks off their pCPUs.
      if (i.layerDone) startNextLayer(v.domain, now, /*freshBatch=*/false);
      layerDone(v, now);
      return Status::ok();
  }
  return error(EINVAL, "unknown work hint");
}

void ParallelPolicy::beginConcurrent(SchedVcpu& v, Ns now) {
  VcpuInfo& i = info(v);
  i.concurrent = true;
  i.layerDone = false;
  if (i.endGrace) {
    // End then Begin: the guest's next task. It stays on its gang pCPU (the
    // task is still in progress: that pCPU keeps it so), rather than
    // requeueing behind every other task and making this one wait again.
    i.endGrace = false;
    dispatch(now);
    return;
  }
  if (i.runnable) {
    // The common policy lets go of it; if it runs, its pCPU decides again.
    --commonRunnable_;
    common_->sleep(v, now);
    toWaiting(v);
    if (v.running && v.pcpu >= 0) host_.tickle(static_cast<unsigned>(v.pcpu));
  }
  dispatch(now);
}

void ParallelPolicy::endConcurrent(SchedVcpu& v, Ns now) {
  VcpuInfo& i = info(v);
  leaveWaiting(v);
  i.concurrent = false;
  i.layerDone = false;
  if (i.gangPcpu >= 0 && i.runnable && v.running && v.pcpu == i.gangPcpu) {
    // Keep the pCPU for kEndGrace in case a Begin follows; the pCPU decides
    // now (and again at the grace's end) so the grace is timed.
    i.endGrace = true;
    i.graceEnd = now + kEndGrace;
    host_.tickle(static_cast<unsigned>(i.gangPcpu));
  } else {
    if (i.gangPcpu >= 0) giveBack(static_cast<unsigned>(i.gangPcpu), now);
    if (i.runnable) {
      ++commonRunnable_;
      common_->wake(v, now);
    }
  }
  advanceLayerIfComplete(v.domain, now);
  endBatchIfIdle(v.domain, now);
  dispatch(now);
}

void ParallelPolicy::layerDone(SchedVcpu& v, Ns now) {
  VcpuInfo& i = info(v);
  i.layerDone = true;
  leaveWaiting(v);
  // The last part of a layer goes straight on with the next layer on its
  // pCPU. Any other part is done: its pCPU goes to other work at once rather
  // than idling (or spinning in a barrier) until the slowest part finishes.
  if (!advanceLayerIfComplete(v.domain, now) && i.gangPcpu >= 0) giveBack(static_cast<unsigned>(i.gangPcpu), now);
  endBatchIfIdle(v.domain, now);
  dispatch(now);
}

// ---------------------------------------------------------------- gangs

/// Puts `v` in its task's waiting list once, unless it holds a gang pCPU: a
/// vCPU listed twice would be lent two pCPUs and leave one behind for good.
bool ParallelPolicy::addWaiting(SchedVcpu& v) {
  Task& t = task(v);
  if (info(v).gangPcpu >= 0) return false;
  if (std::find(t.waiting.begin(), t.waiting.end(), &v) != t.waiting.end()) return false;
  t.waiting.push_back(&v);
  return true;
}

void ParallelPolicy::toWaiting(SchedVcpu& v) {
  Task& t = task(v);
  if (!addWaiting(v)) return;
  if (!t.inProgress && !t.queued) {
    t.queued = true;
    queue_.push_back(v.domain);
  }
}

void ParallelPolicy::leaveWaiting(SchedVcpu& v) { std::erase(task(v).waiting, &v); }

void ParallelPolicy::lend(unsigned pcpu, SchedVcpu& v, Ns now) {
  gangOn_[pcpu] = &v;
  gangSince_[pcpu] = now;
  info(v).gangPcpu = static_cast<int>(pcpu);
  (void)common_->setPcpuAvailable(pcpu, false);  // supported: checked by makeParallelPolicy
  host_.tickle(pcpu);
}

void ParallelPolicy::giveBack(unsigned pcpu, Ns now) {
  SchedVcpu* v = gangOn_[pcpu];
  if (v == nullptr) return;
  gangUsed_ += now - gangSince_[pcpu];
  info(*v).gangPcpu = -1;
  gangOn_[pcpu] = nullptr;
  (void)common_->setPcpuAvailable(pcpu, true);
  host_.tickle(pcpu);
}

/// Ends the task's batch (its time is up, or the gang budget is spent): every
/// gang vCPU of it leaves its pCPU together, behind the task's other waiting
/// vCPUs, and the task goes to the back of the queue.
void ParallelPolicy::expireBatch(SchedDomain* d, Ns now) {
  for (unsigned p = 0; p < gangOn_.size(); ++p) {
    SchedVcpu* v = gangOn_[p];
    if (v == nullptr || v->domain != d) continue;
    if (info(*v).endGrace) {
      endGraceOf(*v, now);
      continue;
    }
    giveBack(p, now);
    if (info(*v).runnable && !info(*v).layerDone) addWaiting(*v);
  }
  tasks_[d].batchEnd = std::min(tasks_[d].batchEnd, now);
  endBatchIfIdle(d, now);
}

/// A task whose batch has ended and holds no pCPU goes to the back of the
/// queue (if it still has work), so tasks take turns.
void ParallelPolicy::endBatchIfIdle(SchedDomain* d, Ns now) {
  Task& t = tasks_[d];
  if (!t.inProgress) return;
  const bool holdsPcpu = std::any_of(gangOn_.begin(), gangOn_.end(),
                                     [d](const SchedVcpu* v) { return v != nullptr && v->domain == d; });
  if (holdsPcpu) return;
  const bool anyRunnable = std::any_of(d->vcpus.begin(), d->vcpus.end(), [this](const SchedVcpu* v) {
    const VcpuInfo& i = vcpus_[v];
    return i.concurrent && i.runnable;
  });
  if (now < t.batchEnd && anyRunnable) return;
  t.inProgress = false;
  std::erase(active_, d);
  if (!t.waiting.empty() && !t.queued) {
    t.queued = true;
    queue_.push_back(d);
  }
}

/// The grace after a ConcurrentEnd is over: the vCPU is common work now.
void ParallelPolicy::endGraceOf(SchedVcpu& v, Ns now) {
  VcpuInfo& i = info(v);
  i.endGrace = false;
  if (i.gangPcpu >= 0) giveBack(static_cast<unsigned>(i.gangPcpu), now);
  if (i.runnable) {
    ++commonRunnable_;
    common_->wake(v, now);
  }
}

/// Tasks in progress whose batch ran out while they held no pCPU (their
/// waiting vCPU lost the race for one, or joined late) go back to the queue.
/// No event of their own would do it: their other vCPUs may all wait at the
/// barrier for the one that waits here.
void ParallelPolicy::retireExpired(Ns now) {
  for (SchedDomain* d : std::vector<SchedDomain*>(active_))
    if (now >= tasks_[d].batchEnd) endBatchIfIdle(d, now);
}

/// When every vCPU in the task's parallel phase has finished the layer (or
/// sleeps at its barrier), the next layer starts at once with a fresh batch
/// (while other tasks wait, only until the end of the task's turn).
/// Returns whether it did.
bool ParallelPolicy::advanceLayerIfComplete(SchedDomain* d, Ns now) {
  bool anyDone = false;
  for (const SchedVcpu* v : d->vcpus) {
    const VcpuInfo& i = vcpus_[v];
    if (!i.concurrent) continue;
    if (i.runnable && !i.layerDone) return false;
    anyDone = anyDone || i.layerDone;
  }
  if (!anyDone) return false;
  startNextLayer(d, now, true);
  return true;
}

/// The task's next layer starts: every part that finished the last one is
/// waiting for a gang pCPU again; with `freshBatch`, the task leaves the
/// queue (if it was in it) with a new batch, within its turn if others wait.
void ParallelPolicy::startNextLayer(SchedDomain* d, Ns now, bool freshBatch) {
  Task& t = tasks_[d];
  for (SchedVcpu* v : d->vcpus) {
    VcpuInfo& i = vcpus_[v];
    if (!i.concurrent || !i.layerDone) continue;
    i.layerDone = false;
    if (i.runnable) addWaiting(*v);
  }
  if (!freshBatch) return;  // a catch-up: the task keeps its place in the queue and its batch
  if (othersQueued(d)) {
    // Other tasks wait for pCPUs: the task's batches go on to the end of its
    // turn and no further (a task of endless short layers would otherwise
    // renew them for ever and starve the queue); then it queues behind them.
    if (t.inProgress) {
      t.batchEnd = std::max(t.batchEnd, std::min(now + gangSlice_, t.turnEnd));
    } else if (!t.queued && !t.waiting.empty()) {
      t.queued = true;
      queue_.push_back(d);
    }
    return;
  }
  if (t.queued) {
    std::erase(queue_, d);
    t.queued = false;
  }
  t.batchEnd = now + gangSlice_;
  if (!t.inProgress) {
    t.inProgress = true;
    t.turnEnd = now + kTurnSlices * gangSlice_;
    active_.push_back(d);
  }
}

bool ParallelPolicy::othersQueued(const SchedDomain* d) const {
  return std::any_of(queue_.begin(), queue_.end(), [this, d](const SchedDomain* q) {
    if (q == d) return false;
    auto it = tasks_.find(q);
    return it != tasks_.end() && !it->second.waiting.empty();
  });
}

int ParallelPolicy::freePcpuFor(const SchedVcpu& v) const {
  if (v.pcpu >= 0 && static_cast<unsigned>(v.pcpu) < gangOn_.size() && gangOn_[v.pcpu] == nullptr &&
      v.hardAffinity.test(v.pcpu))
    return v.pcpu;  // warm cache first
  for (unsigned p = 0; p < gangOn_.size(); ++p)
    if (gangOn_[p] == nullptr && v.hardAffinity.test(p)) return static_cast<int>(p);
  return -1;
}

unsigned ParallelPolicy::freePcpus() const {
  return static_cast<unsigned>(std::count(gangOn_.begin(), gangOn_.end(), nullptr));
}

/// Gives the task's waiting vCPUs free pCPUs, in order, as far as they go.
void ParallelPolicy::fill(SchedDomain* d, Ns now) {
  Task& t = tasks_[d];
  for (auto it = t.waiting.begin(); it != t.waiting.end();) {
    const int p = freePcpuFor(**it);
    if (p < 0) {
      ++it;
      continue;
    }
    SchedVcpu* v = *it;
    it = t.waiting.erase(it);
    lend(static_cast<unsigned>(p), *v, now);
  }
}

/// Starts the queue's head task if it fits: all of its V vCPUs at once when
/// V <= free pCPUs, or a batch of N when V > N and the machine is free.
bool ParallelPolicy::startFromQueue(Ns now) {
  while (!queue_.empty()) {
    SchedDomain* d = queue_.front();
    Task& t = tasks_[d];
    if (t.waiting.empty()) {
      queue_.pop_front();
      t.queued = false;
      continue;
    }
    const unsigned free = freePcpus();
    if (t.waiting.size() > free && free < gangOn_.size()) return false;  // FIFO: the head waits
    queue_.pop_front();
    t.queued = false;
    t.inProgress = true;
    t.batchEnd = now + gangSlice_;
    t.turnEnd = now + kTurnSlices * gangSlice_;
    active_.push_back(d);
    fill(d, now);
    return true;
  }
  return false;
}

void ParallelPolicy::dispatch(Ns now) {
  retireExpired(now);
  if (!gangBudgetLeft(now)) return;
  for (SchedDomain* d : std::vector<SchedDomain*>(active_))
    if (now < tasks_[d].batchEnd) fill(d, now);
  while (freePcpus() > 0 && startFromQueue(now)) {
  }
}

// ---------------------------------------------------------------- fairness window

Ns ParallelPolicy::window() const {
  const Params g = common_->globalParams();
  auto it = g.find("tslice_ms");
  return it != g.end() && it->second > 0 ? it->second * kNsPerMs : kDefaultWindow;
}

void ParallelPolicy::rollWindow(Ns now) {
  if (now < windowEnd_) return;
  windowEnd_ = now + window();
  gangUsed_ = 0;
  for (unsigned p = 0; p < gangOn_.size(); ++p)
    if (gangOn_[p] != nullptr) gangSince_[p] = now;
}

/// Gang pCPU time left in this window while common work waits; "unlimited"
/// (a large value) when no common work is runnable.
Ns ParallelPolicy::budgetLeft(Ns now) {
  rollWindow(now);
  if (commonRunnable_ == 0) return INT64_MAX / 4;
  Ns used = gangUsed_;
  for (unsigned p = 0; p < gangOn_.size(); ++p)
    if (gangOn_[p] != nullptr) used += now - gangSince_[p];
  const Ns budget = window() * static_cast<Ns>(gangOn_.size()) * gangShare_ / 100;
  return budget - used;
}

bool ParallelPolicy::gangBudgetLeft(Ns now) { return budgetLeft(now) > 0; }

// ---------------------------------------------------------------- decisions

Decision ParallelPolicy::doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) {
  (void)prev;  // the common policy is told about its own last choice, below
  (void)prevRunnable;
  if (SchedVcpu* g = gangOn_[pcpu]; g != nullptr && info(*g).endGrace && now >= info(*g).graceEnd) {
    endGraceOf(*g, now);  // no Begin followed its End
    endBatchIfIdle(g->domain, now);
  }
  if (SchedVcpu* g = gangOn_[pcpu]; g != nullptr && (now >= task(*g).batchEnd || !gangBudgetLeft(now))) {
    expireBatch(g->domain, now);
  }
  dispatch(now);
  if (SchedVcpu* g = gangOn_[pcpu]) {
    if (SchedVcpu* c = commonOn_[pcpu]) {
      // The pCPU is lent: the common policy requeues what it ran there.
      const VcpuInfo& ci = info(*c);
      (void)common_->doSchedule(pcpu, c, ci.runnable && !ci.concurrent, now);
      commonOn_[pcpu] = nullptr;
    }
    Decision d;
    d.next = g;
    // Decide again at the batch end, or when the gangs' budget would run out
    // with every gang pCPU busy (sooner if some are idle: the tick catches it).
    const Ns gangPcpus = static_cast<Ns>(gangOn_.size() - freePcpus());
    Ns until = std::min(task(*g).batchEnd - now, budgetLeft(now) / std::max<Ns>(gangPcpus, 1));
    if (info(*g).endGrace) until = std::min(until, info(*g).graceEnd - now);
    d.slice = std::max<Ns>(until, 1);
    d.migrated = g->pcpu >= 0 && g->pcpu != static_cast<int>(pcpu);
    return d;
  }
  SchedVcpu* c = commonOn_[pcpu];
  const bool cRunnable = c != nullptr && info(*c).runnable && !info(*c).concurrent;
  Decision d = common_->doSchedule(pcpu, c, cRunnable, now);
  commonOn_[pcpu] = d.next;
  return d;
}

unsigned ParallelPolicy::pickCpu(const SchedVcpu& v) {
  const VcpuInfo& i = info(v);
  if (!i.concurrent) return common_->pickCpu(v);
  if (i.gangPcpu >= 0) return static_cast<unsigned>(i.gangPcpu);
  const int p = freePcpuFor(v);
  if (p >= 0) return static_cast<unsigned>(p);
  if (v.pcpu >= 0) return static_cast<unsigned>(v.pcpu);
  for (unsigned q = 0; q < gangOn_.size(); ++q)
    if (v.hardAffinity.test(q)) return q;
  return 0;
}

void ParallelPolicy::tick(unsigned pcpu, Ns now) {
  common_->tick(pcpu, now);
  if (pcpu != 0) return;
  retireExpired(now);
  // Budget spent while common work waits: take the gangs' pCPUs back now.
  if (!gangBudgetLeft(now)) {
    for (unsigned p = 0; p < gangOn_.size(); ++p)
      if (gangOn_[p] != nullptr) host_.tickle(p);
    return;
  }
  dispatch(now);  // a new window may have budget for waiting tasks
}

}  // namespace smartvm::sched::parallel
