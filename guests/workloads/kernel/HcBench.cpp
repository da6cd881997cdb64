// hcbench: cycles per null hypercall and per no-op port exit, timed at CPL0.
#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"
#include "kernel/Shutdown.h"
#include "workloads/Workloads.h"

namespace {

// The hypervisor treats a write to the POST port as a no-op exit.
constexpr uint16_t kPostPort = 0x80;

uint64_t timeHypercalls(uint64_t iters) {
  uint64_t start = cpu::rdtsc();
  for (uint64_t i = 0; i < iters; ++i) xen::xenVersion(XENVER_version, nullptr);
  return cpu::rdtsc() - start;
}

uint64_t timePortWrites(uint64_t iters) {
  uint64_t start = cpu::rdtsc();
  for (uint64_t i = 0; i < iters; ++i) cpu::outb(kPostPort, 0);
  return cpu::rdtsc() - start;
}

}  // namespace

void runHcBench(const Cmdline& cmdline) {
  uint64_t iters = cmdline.numberOrFail("iters", 2000);
  if (iters == 0) fail("iters= must be at least 1");
  uint64_t hypercall = timeHypercalls(iters);
  uint64_t port = timePortWrites(iters);
  Line line;
  line.str("RESULT hcbench iters=").dec(iters).str(" hypercall_cycles=").dec(hypercall / iters);
  line.str(" port_cycles=").dec(port / iters);
  console::print(line);
}
