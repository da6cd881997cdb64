#include "SliceTimer.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace smartvm::hv {

namespace {
constexpr sched::Ns kNever = std::numeric_limits<sched::Ns>::max();
}  // namespace

SliceTimer::SliceTimer(sched::Scheduler& sched, sched::PcpuSet& pcpus)
    : sched_(sched), pcpus_(pcpus), sliceEnd_(sched.pcpuCount(), kNever), thread_([this] { loop(); }) {}

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
    if (tick) {
      // A tick period may change with the policy's parameters; never tick in a burst after a stall.
      nextTick_ = std::max(after(nextTick_), now + 1);
    }
    if (!due.empty() || tick) {
      lk.unlock();
      // The reschedule may run a whole decision on this thread (an idle pCPU).
      for (unsigned p : due) pcpus_.reschedule(p);
      if (tick) {
        for (unsigned p = 0; p < sched_.pcpuCount(); ++p) sched_.tick(p);
      }
      lk.lock();
      continue;
    }
    const sched::Ns next = std::min(nextTick_, *std::min_element(sliceEnd_.begin(), sliceEnd_.end()));
    // The scheduler's clock is CLOCK_MONOTONIC, as steady_clock is on Linux.
    cv_.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next)));
  }
}

}  // namespace smartvm::hv
