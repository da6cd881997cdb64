// The 64-bit task state segment: only rsp0 matters, the stack the CPU
// switches to when a CPL3 workload raises an exception. Each vCPU has its own
// TSS and descriptor (ltr marks a descriptor busy, so they cannot be shared).
#pragma once
#include <stdint.h>

namespace tss {

/// Installs vCPU cpu's TSS descriptor in the GDT and loads the task register.
void init(uint32_t cpu, uint64_t rsp0);

}  // namespace tss
