// Secondary vCPUs, brought up the Xen way: VCPUOP_initialise with a 64-bit
// struct vcpu_hvm_context, then VCPUOP_up. An AP loads the kernel GDT, the
// shared IDT, its own TSS and GS base, sets up its events, runs the function
// it was given and then idles in SCHEDOP_block until taken down.
#pragma once
#include <stdint.h>

#include "kernel/Cmdline.h"
#include "kernel/Hypercall.h"
#include "kernel/PerCpu.h"
#include "kernel/XenTime.h"
#include "lib/Format.h"

namespace smp {

/// How many vCPUs the domain has: ids 0, 1, ... for which VCPUOP_is_up
/// answers >= 0, until -ENOENT (at most MAX_CPUS).
uint32_t detectVcpus();

/// The vcpus= option, or detectVcpus() when absent; FAILs when it is 0, above
/// MAX_CPUS or above what the domain has.
uint32_t vcpusFromCmdline(const Cmdline& cmdline);

long isUp(uint32_t id);

/// VCPUOP_down of another vCPU.
long down(uint32_t id);

/// Starts vCPU id running entry(percpu::cpu(id)) (arg in PerCpu::arg) and
/// waits until it is online. Checks VCPUOP_is_up is 0 before and 1 after.
/// Returns false with the failed step in why.
bool startAp(uint32_t id, void (*entry)(PerCpu&), void* arg, Line& why);

/// SCHEDOP_yield until cond() holds (true) or about 5 s passed (false; Xen
/// time when there is some, else a count of yields). For waiting on another
/// vCPU without an event to wake us.
template <typename Cond>
bool yieldUntil(Cond cond) {
  constexpr uint64_t kTimeoutNs = 5 * xentime::kNsPerSec;
  constexpr uint64_t kMaxYields = 500000;
  const bool timed = xentime::available();
  const uint64_t deadline = timed ? xentime::now() + kTimeoutNs : 0;
  for (uint64_t i = 0; !cond(); ++i) {
    if (timed ? xentime::now() >= deadline : i >= kMaxYields) return false;
    xen::schedOp(SCHEDOP_yield, nullptr);
  }
  return true;
}

}  // namespace smp
