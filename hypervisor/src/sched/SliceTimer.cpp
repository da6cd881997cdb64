#include "SliceTimer.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

namespace smartvm::hv {

namespace {
constexpr sched::Ns kNever = std::numeric_limits<sched::Ns>::max();
}  // namespace

SliceTimer::SliceTimer(sched::Scheduler& sched, sched::PcpuSet& pcpus, sched::Ns haltCheck, HaltCheck check)
    : sched_(sched),
      pcpus_(pcpus),
      sliceEnd_(sched.pcpuCount(), kNever),
      haltCheck_(check ? std::max<sched::Ns>(haltCheck, 0) : 0),
      check_(std::move(check)),
      nextHaltCheck_(kNever),
      thread_([this] { loop(); }) {}

SliceTimer::~SliceTimer() {
  {
    std::lock_guard lk(m_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SliceTimer::arm(unsigned pcpu, sched::Ns at) {
  {
    std::lock_guard lk(m_);
    if (pcpu >= sliceEnd_.size()) return;
    sliceEnd_[pcpu] = at;
  }
  cv_.notify_all();
}

void SliceTimer::waiterAppeared() {
  if (haltCheck_ <= 0) return;
  {
    std::lock_guard lk(m_);
    if (nextHaltCheck_ != kNever) return;  // running already
  }
  // Most wakes find an idle pCPU (taken before this call) or nobody in the
  // way: then no timer is armed, and nobody pays for halt checks.
  bool behind = false;
  for (unsigned p = 0; p < sched_.pcpuCount() && !behind; ++p) behind = sched_.holderWithWaiter(p) != nullptr;
  if (!behind) return;
  {
    std::lock_guard lk(m_);
    if (nextHaltCheck_ != kNever) return;
    nextHaltCheck_ = sched_.now() + haltCheck_;
  }
  cv_.notify_all();
}

uint64_t SliceTimer::haltCheckRounds() const {
  std::lock_guard lk(m_);
  return haltCheckRounds_;
}

bool SliceTimer::checkHolders() {
  bool any = false;
  for (unsigned p = 0; p < sched_.pcpuCount(); ++p) {
    sched::SchedVcpu* holder = sched_.holderWithWaiter(p);
    if (holder == nullptr) continue;
    any = true;
    check_(*holder);
  }
  return any;
}

void SliceTimer::loop() {
  pthread_setname_np(pthread_self(), "sched-timer");
  std::unique_lock lk(m_);
  auto after = [this](sched::Ns t) {
    const sched::Ns period = sched_.tickPeriod();
    return period > 0 ? t + period : kNever;
  };
  nextTick_ = after(sched_.now());
  while (!stop_) {
    const sched::Ns now = sched_.now();
    std::vector<unsigned> due;
    for (unsigned p = 0; p < sliceEnd_.size(); ++p) {
      if (sliceEnd_[p] > now) continue;
      sliceEnd_[p] = kNever;
      due.push_back(p);
    }
    const bool tick = now >= nextTick_;
    const bool haltCheck = now >= nextHaltCheck_;
    if (haltCheck) nextHaltCheck_ = kNever;
    if (tick) {
      // A tick period may change with the policy's parameters; never tick in a burst after a stall.
      nextTick_ = std::max(after(nextTick_), now + 1);
    }
    if (!due.empty() || tick || haltCheck) {
      lk.unlock();
      // The reschedule may run a whole decision on this thread (an idle pCPU).
      for (unsigned p : due) pcpus_.reschedule(p);
      if (tick) {
        for (unsigned p = 0; p < sched_.pcpuCount(); ++p) sched_.tick(p);
      }
      // After the slice ends and ticks: a holder they replaced is not checked.
      const bool again = haltCheck && checkHolders();
      lk.lock();
      if (haltCheck) {
        ++haltCheckRounds_;
        // Keeps checking while someone waits; a waiter appearing meanwhile armed it already.
        if (again) nextHaltCheck_ = std::min(nextHaltCheck_, sched_.now() + haltCheck_);
      }
      continue;
    }
    const sched::Ns next =
        std::min({nextTick_, nextHaltCheck_, *std::min_element(sliceEnd_.begin(), sliceEnd_.end())});
    // The scheduler's clock is CLOCK_MONOTONIC, as steady_clock is on Linux.
    cv_.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next)));
  }
}

}  // namespace smartvm::hv
