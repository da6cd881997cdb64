#include "smartvm/sched/PcpuSet.h"

#include <algorithm>
#include <utility>

namespace smartvm::sched {

PcpuSet::PcpuSet(unsigned pcpus, Hooks hooks) : n_(pcpus), hooks_(std::move(hooks)), slots_(pcpus) {}

void PcpuSet::reschedule(unsigned pcpu) {
  if (pcpu >= n_) return;
  SchedVcpu* kickee = nullptr;
  {
    std::lock_guard lk(m_);
    if (stopping_) return;
    Slot& s = slots_[pcpu];
    s.pending = true;
    if (s.deciding) return;  // the decider sees `pending` and decides again
    if (s.holder != nullptr && s.entered) {
      // The holder decides at its next checkpoint; a thread asking for its
      // own slot is about to checkpoint anyway.
      if (hooks_.selfVcpu && hooks_.selfVcpu() == s.holder) return;
      kickee = s.holder;
    } else {
      s.deciding = true;  // idle, or its holder has not taken it up: this thread decides
    }
  }
  if (kickee != nullptr) {
    hooks_.kick(*kickee);
    return;
  }
  decide(pcpu);
}

void PcpuSet::waiting() {
  if (hooks_.waiting) hooks_.waiting();
}

bool PcpuSet::checkpoint(SchedVcpu& v) {
  int p = -1;
  {
    std::lock_guard lk(m_);
    auto it = pcpuOf_.find(&v);
    if (it == pcpuOf_.end() || it->second < 0) return false;
    p = it->second;
    Slot& s = slots_[p];
    if (!s.pending || s.deciding) return true;
    s.deciding = true;
  }
  decide(static_cast<unsigned>(p));
  return pcpuOf(v) >= 0;
}

/// Runs the policy's decision for `pcpu` until nobody asked again meanwhile,
/// handing the slot to the chosen vCPU's thread. Caller set `deciding`.
void PcpuSet::decide(unsigned pcpu) {
  std::vector<SchedVcpu*> released;
  // While this runs, no holder takes the slot up (canTakeUp), so every
  // decision here may still move it on: the holder is this thread's own vCPU
  // or one that has not entered the guest.
  for (;;) {
    {
      std::lock_guard lk(m_);
      slots_[pcpu].pending = false;
    }
    PcpuChoice c = sched_->schedule(pcpu);
    SchedVcpu* next = c.next;
    SchedVcpu* handoff = nullptr;
    if (next != nullptr && c.busyOn >= 0 && !sched_->claim(pcpu, next)) {
      handoff = next;  // retried once its pCPU lets go of it
      next = nullptr;
    }
    {
      std::lock_guard lk(m_);
      Slot& s = slots_[pcpu];
      s.handoff = handoff;
      if (s.holder != next) {
        if (s.holder != nullptr) {
          // Another pCPU may have claimed it already (between our
          // schedule() and here): then its slot there stands.
          if (pcpuOf_[s.holder] == static_cast<int>(pcpu)) pcpuOf_[s.holder] = -1;
          released.push_back(s.holder);
        }
        s.holder = next;
        s.entered = false;
        if (next != nullptr) pcpuOf_[next] = static_cast<int>(pcpu);
        granted_.notify_all();
      }
    }
    // A holder is looked at again after kMaxHold even when the policy set no
    // slice: only then can the run loop notice a guest idling in `hlt` inside
    // KVM, which never exits by itself (sooner only while someone waits for
    // this pCPU: smartvm-hv's halt check).
    if (next != nullptr) hooks_.armSlice(pcpu, sched_->now() + (c.slice >= 0 ? c.slice : kMaxHold));
    std::lock_guard lk(m_);
    if (!slots_[pcpu].pending || stopping_) {
      slots_[pcpu].deciding = false;
      granted_.notify_all();  // the holder may take the slot up now
      break;
    }
  }
  // pCPUs that wanted a vCPU this one just let go of decide again.
  std::vector<unsigned> retry;
  {
    std::lock_guard lk(m_);
    for (unsigned r = 0; r < n_; ++r) {
      if (slots_[r].handoff == nullptr) continue;
      if (std::find(released.begin(), released.end(), slots_[r].handoff) == released.end()) continue;
      slots_[r].handoff = nullptr;
      retry.push_back(r);
    }
  }
  for (unsigned r : retry) reschedule(r);
}

std::optional<unsigned> PcpuSet::waitForPcpu(SchedVcpu& v) {
  unsigned p = 0;
  {
    std::unique_lock lk(m_);
    granted_.wait(lk, [&] { return stopping_ || interrupted_[&v] || canTakeUp(v); });
    if (stopping_) return std::nullopt;
    if (std::exchange(interrupted_[&v], false)) return std::nullopt;
    p = static_cast<unsigned>(pcpuOf_[&v]);
    slots_[p].entered = true;
  }
  if (hooks_.pinThread) hooks_.pinThread(p);
  return p;
}

bool PcpuSet::enter(SchedVcpu& v) {
  std::lock_guard lk(m_);
  if (!canTakeUp(v)) return false;
  slots_[pcpuOf_[&v]].entered = true;
  return true;
}

/// `v` holds a slot that no thread is deciding: while one is, its choice may
/// still move the slot on, and `v` must not be in the guest then. (`v`'s own
/// thread never asks while it decides: decide() returns before it enters.)
bool PcpuSet::canTakeUp(const SchedVcpu& v) const {
  auto it = pcpuOf_.find(&v);
  if (it == pcpuOf_.end() || it->second < 0) return false;
  return !slots_[it->second].deciding;
}

int PcpuSet::pcpuOf(const SchedVcpu& v) const {
  std::lock_guard lk(m_);
  auto it = pcpuOf_.find(&v);
  return it == pcpuOf_.end() ? -1 : it->second;
}

void PcpuSet::interrupt(const SchedVcpu& v) {
  std::lock_guard lk(m_);
  interrupted_[&v] = true;
  granted_.notify_all();
}

void PcpuSet::stop() {
  std::lock_guard lk(m_);
  stopping_ = true;
  granted_.notify_all();
}

bool PcpuSet::stopped() const {
  std::lock_guard lk(m_);
  return stopping_;
}

void PcpuSet::forget(const SchedVcpu& v) {
  std::lock_guard lk(m_);
  pcpuOf_.erase(&v);
  interrupted_.erase(&v);
  for (Slot& s : slots_) {
    if (s.handoff == &v) s.handoff = nullptr;
  }
}

}  // namespace smartvm::sched
