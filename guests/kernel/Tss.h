// The 64-bit task state segment: only rsp0 matters, the stack the CPU
// switches to when a CPL3 workload raises an exception.
#pragma once
#include <stdint.h>

namespace tss {

/// Installs the TSS descriptor in the boot GDT and loads the task register.
void init(uint64_t rsp0);

}  // namespace tss
