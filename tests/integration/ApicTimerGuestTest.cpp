// A guest that idles in `sti; hlt` waiting for its own LAPIC timer, sharing
// one pCPU with a spinning guest under the credit scheduler. When the
// scheduler kicks it while halted, Smart-VM blocks it to give the pCPU away;
// the block must end at the LAPIC timer, which KVM only delivers inside
// KVM_RUN, or the guest would wait forever. Skips with the reason when
// /dev/kvm is unusable.
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

constexpr uint64_t kTicks = 20;
constexpr uint64_t kPeriodMs = 10;

class ApicTimerGuestTest : public OnePcpuGuestTest<::testing::TestWithParam<const char*>> {
 protected:
  void SetUp() override {
    OnePcpuGuestTest::SetUp();
    if (IsSkipped()) return;
    startHypervisor();  // one pCPU for both guests
  }
};

/// The value of `key=` in a RESULT line (0 when absent).
uint64_t field(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + "=");
  return at == std::string::npos ? 0 : std::stoull(line.substr(at + key.size() + 2));
}

TEST_P(ApicTimerGuestTest, AHaltedGuestWakesForItsLapicTimerBesideASpinner) {
  const uint32_t spinner = create("spinner", "workload=spin");
  ASSERT_FALSE(waitFor(spinner, "RESULT spin", 30s).empty()) << "the spinner never started";
  const auto t0 = std::chrono::steady_clock::now();
  const uint32_t ticker = create("ticker", "workload=apictimer mode=" + std::string(GetParam()) +
                                               " ticks=" + std::to_string(kTicks) +
                                               " period_ms=" + std::to_string(kPeriodMs));
  // Held from the start: the guest powers off after its RESULT line, and the
  // hypervisor then drops the domain.
  const std::shared_ptr<Domain> d = hv_->find(ticker);
  ASSERT_NE(d, nullptr);
  const std::string line = waitFor(ticker, "RESULT apictimer", 30s);
  const auto wall = std::chrono::steady_clock::now() - t0;
  const uint64_t halts = d->counters().haltBlocks.load(), timed = d->counters().timedHaltBlocks.load();
  std::cout << "apictimer " << GetParam() << ": " << line << " wall_ms="
            << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count() << " halt_blocks=" << halts
            << " timed_halt_blocks=" << timed << "\n";
  ASSERT_FALSE(line.empty()) << "the guest missed LAPIC timer ticks (halt blocks " << halts << ", timed " << timed
                             << ")";
  EXPECT_EQ(field(line, "ticks"), kTicks);
  EXPECT_GE(field(line, "elapsed_us"), kTicks * kPeriodMs * 1000) << "ticks came early (guest's Xen time)";
  EXPECT_GE(wall, std::chrono::milliseconds(kTicks * kPeriodMs));
  EXPECT_GT(timed, 0u) << "the scheduler never found it halted: the test did not exercise the timed block";
}

INSTANTIATE_TEST_SUITE_P(Modes, ApicTimerGuestTest, ::testing::Values("oneshot", "periodic"));

}  // namespace
}  // namespace smartvm::hv
