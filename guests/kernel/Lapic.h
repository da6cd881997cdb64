// The local APIC in xAPIC mode (MMIO at its reset base 0xfee00000), where the
// HVM event channel upcall vector arrives.
#pragma once
#include <stdint.h>

namespace lapic {

/// Vector of the spurious interrupt (its handler only returns, no EOI).
constexpr uint8_t kSpuriousVector = 0xff;

/// Software-enables this vCPU's local APIC (SVR bit 8, spurious vector
/// kSpuriousVector) and sets TPR to 0 so every vector may be delivered.
void enable();

/// This vCPU's APIC id.
uint32_t id();

/// End of interrupt for the highest in-service vector.
void eoi();

/// True when vector is requested (IRR) and its priority class is above the
/// processor priority (PPR): it is delivered as soon as interrupts are enabled.
bool deliverable(uint8_t vector);

/// True when vector is requested (IRR).
bool requested(uint8_t vector);

/// True when vector is in service (ISR).
bool inService(uint8_t vector);

/// Arms the LAPIC timer at divide-by-1 (KVM's APIC bus: 1 count per ns):
/// one-shot, or periodic reloading `count`, interrupting on `vector`.
void armTimer(uint8_t vector, uint32_t count, bool periodic);

/// Stops the timer (initial count 0) and masks its LVT entry.
void stopTimer();

}  // namespace lapic
