#pragma once
// What a vCPU halted inside KVM waits for, as far as its local APIC tells:
// Vcpu::loop blocks a halted vCPU only until then, because KVM's in-kernel
// LAPIC timer wakes nobody while the vCPU thread is outside KVM_RUN.
#include <cstdint>
#include <optional>

namespace smartvm::hv {

struct HaltWake {
  /// IRR holds a vector above the processor priority: the halt ends as soon
  /// as the vCPU re-enters KVM_RUN (with interrupts enabled).
  bool interruptPending = false;
  /// Nanoseconds until the LAPIC timer fires (0: due now); none when it is
  /// masked, disarmed or spent.
  std::optional<uint64_t> timerNs;
  /// A one-shot timer whose count reached zero. KVM shows the same state
  /// whether its interrupt was delivered long ago or expired a moment ago and
  /// waits for the next KVM_RUN to be injected, so the caller must not trust
  /// it blindly.
  bool timerSpent = false;
};

}  // namespace smartvm::hv
