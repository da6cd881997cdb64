#include "smartvm/hv/kvm/LapicPage.h"

#include <cstring>
#include <limits>

namespace smartvm::hv {

uint32_t LapicPage::reg(uint32_t offset) const {
  uint32_t v = 0;
  std::memcpy(&v, regs_.data() + offset, sizeof v);
  return v;
}

LapicTimerMode LapicPage::timerMode() const {
  return static_cast<LapicTimerMode>((reg(kLvtTimer) >> 17) & 3u);
}

uint32_t LapicPage::divisor() const {
  // TDCR bits 0, 1 and 3 form a 3-bit code; 0b111 means divide by 1 (lapic.c's update_divide_count).
  const uint32_t tdcr = reg(kTdcr);
  const uint32_t code = (tdcr & 3u) | ((tdcr & 8u) >> 1);
  return 1u << ((code + 1) & 7u);
}

std::optional<uint8_t> LapicPage::highestIn(uint32_t bank) const {
  // Eight 32-bit registers, 16 bytes apart, vector 0 in bit 0 of the first.
  for (int word = 7; word >= 0; --word) {
    const uint32_t bits = reg(bank + 0x10u * static_cast<uint32_t>(word));
    if (bits != 0) return static_cast<uint8_t>(word * 32 + 31 - __builtin_clz(bits));
  }
  return std::nullopt;
}

std::optional<uint8_t> LapicPage::highestIrr() const { return highestIn(kIrr); }

uint8_t LapicPage::processorPriority() const {
  // Computed, not read from 0xa0: with APICv KVM need not keep the page's PPR current.
  const uint8_t tpr = static_cast<uint8_t>(reg(kTpr) & 0xffu);
  const uint8_t isrv = highestIn(kIsr).value_or(0);
  return (tpr & 0xf0u) >= (isrv & 0xf0u) ? tpr : static_cast<uint8_t>(isrv & 0xf0u);
}

bool LapicPage::interruptPending() const {
  // KVM's own halt-wake test (apic_has_interrupt_for_ppr): a vector masked by
  // PPR would not end the halt either, so it must not keep the vCPU awake.
  const std::optional<uint8_t> irr = highestIrr();
  return irr && (*irr & 0xf0u) > processorPriority();
}

std::optional<uint64_t> LapicPage::countdownNs(bool& spent) const {
  if (reg(kTmict) == 0) return std::nullopt;  // never armed, or stopped by writing 0
  const uint64_t count = reg(kTmcct);  // KVM computes the current count on KVM_GET_LAPIC
  if (count == 0) {
    // A periodic timer reloads; zero is the instant it fires. A one-shot one is spent.
    if (timerMode() == LapicTimerMode::Periodic) return 0;
    spent = true;
    return std::nullopt;
  }
  return count * divisor() * kBusCycleNs;
}

HaltWake LapicPage::haltWake(const std::optional<TscDeadline>& tsc) const {
  HaltWake w;
  w.interruptPending = interruptPending();
  // KVM keeps counting a masked timer but delivers nothing when it fires.
  if (timerMasked()) return w;
  switch (timerMode()) {
    case LapicTimerMode::OneShot:
    case LapicTimerMode::Periodic: w.timerNs = countdownNs(w.timerSpent); break;
    case LapicTimerMode::TscDeadline:
      // KVM clears the deadline only once it injected the interrupt: a
      // deadline in the past is a timer still to be delivered.
      if (tsc && tsc->deadline != 0) w.timerNs = tscDeltaNs(tsc->deadline, tsc->tsc, tsc->khz);
      break;
    case LapicTimerMode::Reserved: break;
  }
  return w;
}

uint64_t tscDeltaNs(uint64_t deadline, uint64_t tsc, uint32_t khz) {
  if (deadline <= tsc) return 0;
  if (khz == 0) return 0;  // unknown rate: wake at once rather than never
  const uint64_t delta = deadline - tsc;
  const uint64_t whole = delta / khz, rest = delta % khz;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (whole > kMax / 1000000u) return kMax;
  return whole * 1000000u + rest * 1000000u / khz;
}

}  // namespace smartvm::hv
