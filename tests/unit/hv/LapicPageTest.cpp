// Decoding KVM_GET_LAPIC's register page into when a halted vCPU must run
// again: each timer mode, masking, the divider, TSC deadlines and IRR vs PPR.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <limits>

#include "smartvm/hv/kvm/LapicPage.h"

namespace smartvm::hv {
namespace {

constexpr uint32_t kVector = 0x30;
constexpr uint32_t kPeriodic = 1u << 17, kTscMode = 2u << 17;
constexpr uint32_t kDivideBy1 = 0xb;

/// A register page; offsets as in the xAPIC MMIO page.
struct Page {
  std::array<uint8_t, LapicPage::kSize> bytes{};
  Page& set(uint32_t offset, uint32_t v) {
    std::memcpy(bytes.data() + offset, &v, sizeof v);
    return *this;
  }
  /// Sets `vector` in the 256-bit bank at `bank` (IRR, ISR).
  Page& bit(uint32_t bank, uint8_t vector) {
    const uint32_t off = bank + 0x10u * (vector / 32u);
    uint32_t v = 0;
    std::memcpy(&v, bytes.data() + off, sizeof v);
    return set(off, v | (1u << (vector % 32u)));
  }
  LapicPage view() const { return LapicPage(std::span<const uint8_t, LapicPage::kSize>(bytes)); }
  HaltWake wake(std::optional<TscDeadline> tsc = std::nullopt) const { return view().haltWake(tsc); }
};

Page timer(uint32_t lvt, uint32_t initial, uint32_t current, uint32_t tdcr = kDivideBy1) {
  Page p;
  p.set(LapicPage::kLvtTimer, lvt).set(LapicPage::kTmict, initial).set(LapicPage::kTmcct, current);
  p.set(LapicPage::kTdcr, tdcr);
  return p;
}

TEST(LapicPage, OneShotFiresWhenTheCurrentCountRunsOut) {
  const HaltWake w = timer(kVector, 1000000, 400000).wake();
  ASSERT_TRUE(w.timerNs.has_value());
  EXPECT_EQ(*w.timerNs, 400000u) << "1 ns per APIC bus cycle at divide-by-1";
  EXPECT_FALSE(w.timerSpent);
  EXPECT_FALSE(w.interruptPending);
}

TEST(LapicPage, TheDividerScalesTheCount) {
  // TDCR bits 0, 1 and 3 (Intel SDM table 11-7 / lapic.c update_divide_count).
  const std::pair<uint32_t, uint32_t> codes[] = {{0x0, 2},  {0x1, 4},  {0x2, 8},  {0x3, 16},
                                                 {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
  for (auto [tdcr, div] : codes) {
    const Page p = timer(kVector, 5000, 1000, tdcr);
    EXPECT_EQ(p.view().divisor(), div) << "TDCR " << tdcr;
    ASSERT_TRUE(p.wake().timerNs.has_value());
    EXPECT_EQ(*p.wake().timerNs, 1000u * div) << "TDCR " << tdcr;
  }
  EXPECT_EQ(timer(kVector, 5000, 1000, 0xb | 0x4).view().divisor(), 1u) << "bit 2 is reserved";
}

TEST(LapicPage, AMaskedTimerWakesNobody) {
  for (uint32_t mode : {0u, kPeriodic, kTscMode}) {
    const HaltWake w = timer(kVector | LapicPage::kLvtMasked | mode, 1000, 500).wake(TscDeadline{2000, 1000, 1000});
    EXPECT_FALSE(w.timerNs.has_value()) << "mode " << (mode >> 17);
    EXPECT_FALSE(w.timerSpent);
  }
}

TEST(LapicPage, ZeroInitialCountMeansStopped) {
  for (uint32_t mode : {0u, kPeriodic}) {
    const HaltWake w = timer(kVector | mode, 0, 0).wake();
    EXPECT_FALSE(w.timerNs.has_value());
    EXPECT_FALSE(w.timerSpent) << "stopped, not spent";
  }
}

TEST(LapicPage, AOneShotAtZeroIsSpent) {
  const HaltWake w = timer(kVector, 1000, 0).wake();
  EXPECT_FALSE(w.timerNs.has_value());
  EXPECT_TRUE(w.timerSpent) << "fired, perhaps a moment ago";
}

TEST(LapicPage, PeriodicShowsTheNextTick) {
  const HaltWake w = timer(kVector | kPeriodic, 1000000, 250000, 0x1).wake();
  ASSERT_TRUE(w.timerNs.has_value());
  EXPECT_EQ(*w.timerNs, 1000000u) << "250000 cycles at divide-by-4";
  const HaltWake now = timer(kVector | kPeriodic, 1000000, 0).wake();
  ASSERT_TRUE(now.timerNs.has_value());
  EXPECT_EQ(*now.timerNs, 0u) << "a reloading timer at zero fires now";
  EXPECT_FALSE(now.timerSpent);
}

TEST(LapicPage, TscDeadlineInTheFuturePastOrDisarmed) {
  const Page p = timer(kVector | kTscMode, 0, 0);
  // 2 GHz: 10 million cycles are 5 ms.
  HaltWake w = p.wake(TscDeadline{1000 + 10000000, 1000, 2000000});
  ASSERT_TRUE(w.timerNs.has_value());
  EXPECT_EQ(*w.timerNs, 5000000u);
  w = p.wake(TscDeadline{500, 1000, 2000000});
  ASSERT_TRUE(w.timerNs.has_value());
  EXPECT_EQ(*w.timerNs, 0u) << "passed but not yet injected: due now";
  w = p.wake(TscDeadline{0, 1000, 2000000});
  EXPECT_FALSE(w.timerNs.has_value()) << "0 disarms";
  EXPECT_FALSE(p.wake().timerNs.has_value()) << "no MSRs read";
  EXPECT_FALSE(w.timerSpent);
}

TEST(LapicPage, TscDeltaNeverOverflows) {
  EXPECT_EQ(tscDeltaNs(3000, 1000, 1000), 2000000u);  // 1 MHz: 1 us per cycle
  EXPECT_EQ(tscDeltaNs(1001, 1000, 3000000), 0u) << "a third of a ns rounds down";
  EXPECT_EQ(tscDeltaNs(std::numeric_limits<uint64_t>::max(), 0, 1), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(tscDeltaNs(5000, 1000, 0), 0u) << "unknown rate: wake at once";
  EXPECT_EQ(tscDeltaNs(1ull << 62, 0, 3000000), (1ull << 62) / 3);
}

TEST(LapicPage, ReservedTimerModeIsIgnored) {
  EXPECT_FALSE(timer(kVector | (3u << 17), 1000, 500).wake().timerNs.has_value());
}

TEST(LapicPage, PendingMeansAnIrrClassAboveThePriority) {
  Page p;
  EXPECT_FALSE(p.view().highestIrr().has_value());
  EXPECT_FALSE(p.wake().interruptPending);
  p.bit(LapicPage::kIrr, 0x31).bit(LapicPage::kIrr, 0x05);
  EXPECT_EQ(p.view().highestIrr(), std::optional<uint8_t>(0x31));
  EXPECT_TRUE(p.wake().interruptPending);
  p.set(LapicPage::kTpr, 0x30);
  EXPECT_FALSE(p.wake().interruptPending) << "same class as TPR: held back";
  p.set(LapicPage::kTpr, 0x2f);
  EXPECT_TRUE(p.wake().interruptPending);
  p.set(LapicPage::kTpr, 0);
  p.bit(LapicPage::kIsr, 0x40);
  EXPECT_EQ(p.view().processorPriority(), 0x40);
  EXPECT_FALSE(p.wake().interruptPending) << "below the vector in service";
  p.bit(LapicPage::kIrr, 0xe1);
  EXPECT_TRUE(p.wake().interruptPending);
  EXPECT_EQ(p.view().highestIrr(), std::optional<uint8_t>(0xe1));
}

TEST(LapicPage, TimerAndPendingAreReportedTogether) {
  Page p = timer(kVector, 1000, 10);
  p.bit(LapicPage::kIrr, 0xf3);
  const HaltWake w = p.wake();
  EXPECT_TRUE(w.interruptPending);
  ASSERT_TRUE(w.timerNs.has_value());
  EXPECT_EQ(*w.timerNs, 10u);
}

}  // namespace
}  // namespace smartvm::hv
