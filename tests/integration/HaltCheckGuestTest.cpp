// The scheduler's halt check with real guests on one pCPU: a guest ticking on
// its LAPIC timer (idle in `sti; hlt` inside KVM between ticks) beside a
// spinner. Without the check the ticker, once woken, keeps the pCPU halted
// until the spinner's next kick (its slice end); with it, it hands the pCPU
// back within about a check period. Measured both ways in one run (the check
// off is HypervisorOptions::haltCheckUs = 0, `smartvm-hv --halt-check-us 0`)
// and compared as ratios, never as absolute times. CPU time is the scheduler's
// runstate, as `smartvm vcpu-list` shows. Skips with the reason when /dev/kvm
// is unusable.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "OnePcpuGuestTest.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using smartvm::v1::DomainConfig;

constexpr uint64_t kPeriodMs = 10;
constexpr uint64_t kTicks = 300;  // 3 s of ticks: the measurement ends well before

/// What one run of ticker + spinner on one pCPU gave.
struct Measured {
  double spinnerShare = 0;  ///< of the pCPU's wall time, over the window
  double tickerShare = 0;
  uint64_t checks = 0, checkBlocks = 0, haltBlocks = 0;  ///< the ticker's counters
  uint64_t spinnerChecks = 0;
  uint64_t elapsedUs = 0;  ///< the ticker's own time for its ticks (late ticks make it longer)
};

class HaltCheckGuestTest : public OnePcpuGuestTest<> {
 protected:
  double cpu(uint32_t domid) {
    auto l = hv_->vcpuList(domid);
    return l.isOk() && !l->empty() ? l->front().cpuSeconds : 0;
  }

  /// A fresh hypervisor with one pCPU and the halt check every `haltCheckUs`
  /// (0 = off); a spinner, then the ticker; shares over one second.
  Measured measure(int64_t haltCheckUs) {
    startHypervisor(haltCheckUs);
    Measured r;
    if (hv_ == nullptr) return r;  // startHypervisor failed the test
    const uint32_t spinner = create("spinner", "workload=spin");
    EXPECT_FALSE(waitFor(spinner, "RESULT spin", 30s).empty()) << "the spinner never started";
    const uint32_t ticker = create("ticker", "workload=apictimer mode=oneshot ticks=" + std::to_string(kTicks) +
                                                 " period_ms=" + std::to_string(kPeriodMs));
    const std::shared_ptr<Domain> d = hv_->find(ticker), s = hv_->find(spinner);  // the ticker powers off at the end
    EXPECT_NE(d, nullptr);
    if (d == nullptr || s == nullptr) return r;
    std::this_thread::sleep_for(300ms);
    const double s0 = cpu(spinner), t0 = cpu(ticker);
    const auto w0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(1s);
    const double s1 = cpu(spinner), t1 = cpu(ticker);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    r.spinnerShare = (s1 - s0) / wall;
    r.tickerShare = (t1 - t0) / wall;
    const std::string line = waitFor(ticker, "RESULT apictimer", 60s);
    EXPECT_FALSE(line.empty()) << "the ticker never finished";
    const size_t at = line.find(" elapsed_us=");
    if (at != std::string::npos) r.elapsedUs = std::stoull(line.substr(at + 12));
    r.checks = d->counters().haltChecks.load();
    r.checkBlocks = d->counters().haltCheckBlocks.load();
    r.haltBlocks = d->counters().haltBlocks.load();
    r.spinnerChecks = s->counters().haltChecks.load();
    std::cout << "[ measured ] halt check " << (haltCheckUs > 0 ? std::to_string(haltCheckUs) + " us" : "off")
              << ": spinner " << r.spinnerShare << " ticker " << r.tickerShare << " of the pCPU; ticker: "
              << kTicks << " ticks of " << kPeriodMs << " ms in " << r.elapsedUs << " us, halt blocks "
              << r.haltBlocks << ", checks " << r.checks << " (" << r.checkBlocks << " found it halted)"
              << "; spinner checks " << r.spinnerChecks << "\n";
    hv_.reset();
    return r;
  }

};

TEST_F(HaltCheckGuestTest, ATickingGuestBesideASpinnerGivesThePcpuBackSoon) {
  const Measured off = measure(0);
  const Measured on = measure(HostScheduler::kDefaultHaltCheck / sched::kNsPerUs);
  // Off: no check ever runs, every block comes from a slice end.
  EXPECT_EQ(off.checks, 0u);
  EXPECT_GT(off.haltBlocks, 0u) << "the ticker was never found halted: the test exercised nothing";
  // On: the checks found the ticker halted and blocked it.
  EXPECT_GT(on.checkBlocks, 0u);
  EXPECT_GT(on.checkBlocks * 2, on.haltBlocks) << "most blocks should come from checks, not slice ends";
  // The spinner computes: the CPU-time filter spares it nearly every kick.
  EXPECT_LT(on.spinnerChecks, on.checks / 10 + 10);
  // The pCPU the halted ticker held goes to the spinner.
  ASSERT_GT(off.spinnerShare, 0);
  EXPECT_GT(on.spinnerShare / off.spinnerShare, 1.3) << "off " << off.spinnerShare << ", on " << on.spinnerShare;
  EXPECT_LT(on.tickerShare * 3, off.tickerShare) << "off " << off.tickerShare << ", on " << on.tickerShare;
  // Its ticks come later when it waits a slice for the pCPU it gave nobody.
  ASSERT_GT(on.elapsedUs, 0u);
  EXPECT_GT(static_cast<double>(off.elapsedUs) / static_cast<double>(on.elapsedUs), 1.2)
      << "ticks took " << off.elapsedUs << " us off, " << on.elapsedUs << " us on";
}

}  // namespace
}  // namespace smartvm::hv
