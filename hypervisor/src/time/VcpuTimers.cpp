#include "smartvm/hv/time/VcpuTimers.h"

#include "smartvm/hv/Vcpu.h"  // monotonicNs

namespace smartvm::hv {

VcpuTimers::VcpuTimers(TimerQueue& queue, std::function<void()> fire) : queue_(queue), fire_(std::move(fire)) {}

VcpuTimers::~VcpuTimers() { stopAll(); }

void VcpuTimers::cancelOutsideLock(TimerQueue::Id a, TimerQueue::Id b) {
  // Never under m_: cancel waits for a running callback, which takes m_.
  if (a != 0) queue_.cancel(a);
  if (b != 0) queue_.cancel(b);
}

void VcpuTimers::setSingleshot(uint64_t deadlineNs) {
  TimerQueue::Id old;
  uint64_t gen;
  {
    std::lock_guard lk(m_);
    old = single_;
    single_ = 0;
    gen = ++singleGen_;
  }
  cancelOutsideLock(old);
  armSingleshot(gen, deadlineNs);
}

void VcpuTimers::armSingleshot(uint64_t gen, uint64_t deadlineNs) {
  const TimerQueue::Id id = queue_.arm(deadlineNs, [this, gen] { onSingleshot(gen); });
  std::unique_lock lk(m_);
  if (gen == singleGen_) {
    single_ = id;  // may have fired already; cancel() then just returns false
    return;
  }
  lk.unlock();
  cancelOutsideLock(id);  // superseded while arming
}

void VcpuTimers::onSingleshot(uint64_t gen) {
  {
    std::lock_guard lk(m_);
    if (gen != singleGen_) return;
    single_ = 0;
    ++singleGen_;
    ++active_;
  }
  fire_();
  std::lock_guard lk(m_);
  if (--active_ == 0) idle_.notify_all();
}

void VcpuTimers::stopSingleshot() {
  TimerQueue::Id old;
  {
    std::lock_guard lk(m_);
    old = single_;
    single_ = 0;
    ++singleGen_;
  }
  cancelOutsideLock(old);
}

bool VcpuTimers::singleshotArmed() const {
  std::lock_guard lk(m_);
  return single_ != 0;
}

void VcpuTimers::setPeriodic(uint64_t periodNs) {
  TimerQueue::Id old;
  uint64_t gen;
  uint64_t at = monotonicNs() + periodNs;
  {
    std::lock_guard lk(m_);
    old = periodic_;
    periodic_ = 0;
    period_ = periodNs;
    gen = ++periodicGen_;
    nextPeriodic_ = at;
  }
  cancelOutsideLock(old);
  if (periodNs != 0) armPeriodic(gen, at);
}

void VcpuTimers::armPeriodic(uint64_t gen, uint64_t at) {
  const TimerQueue::Id id = queue_.arm(at, [this, gen] { onPeriodic(gen); });
  std::unique_lock lk(m_);
  if (gen == periodicGen_) {
    periodic_ = id;
    return;
  }
  lk.unlock();
  cancelOutsideLock(id);
}

void VcpuTimers::onPeriodic(uint64_t gen) {
  uint64_t next;
  {
    std::lock_guard lk(m_);
    if (gen != periodicGen_ || period_ == 0) return;
    // Like Xen, ticks missed while late are not replayed: one event, then on.
    next = nextPeriodic_ + period_;
    const uint64_t now = monotonicNs();
    if (next <= now) next = now + period_;
    nextPeriodic_ = next;
    periodic_ = 0;
    ++active_;
  }
  armPeriodic(gen, next);
  fire_();
  std::lock_guard lk(m_);
  if (--active_ == 0) idle_.notify_all();
}

uint64_t VcpuTimers::periodNs() const {
  std::lock_guard lk(m_);
  return period_;
}

void VcpuTimers::stopAll() {
  TimerQueue::Id s, p;
  {
    std::unique_lock lk(m_);
    ++singleGen_;
    ++periodicGen_;
    // A callback past its generation check may still re-arm or fire: let it
    // finish (it sees the new generations afterwards), unless we are it.
    if (!queue_.onTimerThread()) idle_.wait(lk, [this] { return active_ == 0; });
    s = single_;
    p = periodic_;
    single_ = periodic_ = 0;
    period_ = 0;
  }
  cancelOutsideLock(s, p);
}

}  // namespace smartvm::hv
