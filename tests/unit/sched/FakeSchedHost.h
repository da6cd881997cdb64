#pragma once
// A SchedHost for policy tests: a clock the test sets, a fixed pCPU count,
// and a record of every tickle (per pCPU, and in order). Nothing else: tests
// that need a framework build it on top (call doSchedule for tickled pCPUs,
// tick every tickPeriod, keep SchedVcpu::running/pcpu/state).
#include <algorithm>
#include <vector>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched::test {

class FakeSchedHost final : public SchedHost {
 public:
  /// `pcpus` pCPUs (1..kMaxPcpus), the clock at `start`.
  explicit FakeSchedHost(unsigned pcpus = 1, Ns start = 0) : pcpus_(pcpus), now_(start), counts_(pcpus, 0) {}

  // SchedHost.
  Ns now() const override { return now_; }
  void tickle(unsigned pcpu) override {
    log_.push_back(pcpu);
    if (pcpu < pcpus_)
      ++counts_[pcpu];
    else
      ++outOfRange_;
  }
  unsigned pcpuCount() const override { return pcpus_; }

  // The clock.
  void setNow(Ns t) { now_ = t; }
  void advance(Ns d) { now_ += d; }

  // Tickles since the last clearTickles()/takeTickled().
  /// How often `pcpu` was tickled.
  unsigned tickles(unsigned pcpu) const { return pcpu < pcpus_ ? counts_[pcpu] : 0; }
  bool tickled(unsigned pcpu) const { return tickles(pcpu) > 0; }
  /// Total over all pCPUs.
  unsigned totalTickles() const { return static_cast<unsigned>(log_.size()); }
  /// Every tickle in order, out-of-range pCPUs included.
  const std::vector<unsigned>& tickleLog() const { return log_; }
  /// Tickles of pCPUs >= pcpuCount() (a policy bug).
  unsigned outOfRangeTickles() const { return outOfRange_; }
  /// The distinct valid pCPUs tickled, ascending; clears the record.
  std::vector<unsigned> takeTickled() {
    std::vector<unsigned> out;
    for (unsigned p = 0; p < pcpus_; ++p)
      if (counts_[p] > 0) out.push_back(p);
    clearTickles();
    return out;
  }
  void clearTickles() {
    std::fill(counts_.begin(), counts_.end(), 0u);
    log_.clear();
    outOfRange_ = 0;
  }

 private:
  unsigned pcpus_;
  Ns now_;
  std::vector<unsigned> counts_;
  std::vector<unsigned> log_;
  unsigned outOfRange_ = 0;
};

}  // namespace smartvm::sched::test
