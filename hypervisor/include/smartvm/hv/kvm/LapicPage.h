#pragma once
// Decodes the xAPIC register page KVM_GET_LAPIC returns (struct
// kvm_lapic_state, 1 KiB) into when a halted vCPU must run again. Pure: no
// ioctl, so unit tests feed it hand-made pages.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "smartvm/hv/kvm/HaltWake.h"

namespace smartvm::hv {

/// The guest's TSC-deadline timer state (KVM_GET_MSRS, KVM_GET_TSC_KHZ).
struct TscDeadline {
  uint64_t deadline = 0;  ///< IA32_TSC_DEADLINE; 0 = disarmed
  uint64_t tsc = 0;       ///< IA32_TSC now
  uint32_t khz = 0;       ///< guest TSC frequency
};

enum class LapicTimerMode { OneShot = 0, Periodic = 1, TscDeadline = 2, Reserved = 3 };

class LapicPage {
 public:
  static constexpr size_t kSize = 1024;
  static constexpr uint32_t kTpr = 0x80;
  static constexpr uint32_t kIsr = 0x100;
  static constexpr uint32_t kIrr = 0x200;
  static constexpr uint32_t kLvtTimer = 0x320;
  static constexpr uint32_t kTmict = 0x380;
  static constexpr uint32_t kTmcct = 0x390;
  static constexpr uint32_t kTdcr = 0x3e0;
  static constexpr uint32_t kLvtMasked = 1u << 16;
  /// KVM's default APIC bus: one cycle per ns (APIC_BUS_CYCLE_NS_DEFAULT).
  static constexpr uint64_t kBusCycleNs = 1;

  /// `regs` must hold kSize bytes (kvm_lapic_state::regs).
  explicit LapicPage(std::span<const uint8_t, kSize> regs) : regs_(regs) {}

  uint32_t reg(uint32_t offset) const;
  LapicTimerMode timerMode() const;
  bool timerMasked() const { return (reg(kLvtTimer) & kLvtMasked) != 0; }
  /// TDCR as a divisor: 1, 2, 4, ... 128.
  uint32_t divisor() const;
  /// Highest vector set in IRR, if any.
  std::optional<uint8_t> highestIrr() const;
  /// PPR as the APIC computes it from TPR and the highest in-service vector.
  uint8_t processorPriority() const;
  /// Whether IRR holds a vector the APIC would deliver now (class above PPR).
  bool interruptPending() const;
  /// The whole answer; `tsc` is read only in TSC-deadline mode.
  HaltWake haltWake(const std::optional<TscDeadline>& tsc) const;

 private:
  /// Highest vector set in the 256-bit bank at `bank` (ISR, IRR).
  std::optional<uint8_t> highestIn(uint32_t bank) const;
  std::optional<uint64_t> countdownNs(bool& spent) const;

  std::span<const uint8_t, kSize> regs_;
};

/// Nanoseconds from `tsc` until `deadline` at `khz`; 0 when it has passed.
uint64_t tscDeltaNs(uint64_t deadline, uint64_t tsc, uint32_t khz);

}  // namespace smartvm::hv
