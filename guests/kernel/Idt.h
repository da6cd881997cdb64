// The interrupt descriptor table, one for all vCPUs: the 32 exception vectors
// plus the gates installed with setGate (the event channel upcall, the LAPIC
// spurious vector). Any other vector is not present: #NP, reported as a FAIL.
#pragma once
#include <stdint.h>

namespace idt {

/// Points every exception vector at its stub and loads the IDT (BSP, at boot).
void init();

/// Loads the already built IDT on this vCPU (APs).
void load();

/// Installs an interrupt gate (DPL0, interrupts off in the handler).
void setGate(uint8_t vector, void (*handler)());

/// Loads an IDT with limit 0, so the next exception triple-faults.
void loadEmpty();

}  // namespace idt
