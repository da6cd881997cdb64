// Event channels the way a Linux PVH guest uses them: the 2-level ABI in
// shared_info, upcalls on an IDT vector, ports bound to vCPUs.
//
// Interrupts stay off in this kernel except inside blockOnce(): a vCPU waits
// with SCHEDOP_block (which returns once an upcall is pending) and then takes
// the upcall as an interrupt with "sti; hlt", or, when the vector cannot be
// delivered right away, runs the same scan itself ("polled").
#pragma once
#include <stdint.h>
#include <xen/xen.h>
#include <xen/event_channel.h>

#include "kernel/Cmdline.h"
#include "kernel/PerCpu.h"

namespace events {

/// Linux's HYPERVISOR_CALLBACK_VECTOR.
constexpr uint8_t kUpcallVector = 0xf3;

enum class Delivery {
  None,            // no vector could be set: upcalls are only polled
  CallbackVector,  // HVM_PARAM_CALLBACK_IRQ vector type, global, no EOI
  PerVcpuVector,   // HVMOP_set_evtchn_upcall_vector per vCPU, EOI at the end
};

/// Reads the upcall= option. "auto" (default): the per-vCPU vector when CPUID
/// offers it, else the HVM_PARAM_CALLBACK_IRQ vector, taken as interrupts.
/// "vcpu" / "callback": that method only. "poll": as auto, but interrupts
/// stay off and the scan runs by hand after SCHEDOP_block (cheaper on this
/// host, where CPL0 code is emulated).
void configure(const Cmdline& cmdline);

/// Maps shared_info, masks every port, installs the IDT gates, chooses the
/// upcall method and sets up this vCPU (vCPU 0). FAILs when shared_info
/// cannot be mapped. Does nothing the second time.
void init();
bool ready();
Delivery delivery();
const char* deliveryName();

/// An AP's part of init(): vcpu_info, LAPIC, per-vCPU vector.
void initCpu(PerCpu& c);

shared_info* sharedInfo();

using Handler = void (*)(uint32_t port, void* arg);

/// Routes port's events to vCPU cpu's upcall, where handler (if any) runs
/// after the port's count goes up, then unmasks it (EVTCHNOP_unmask, which
/// re-raises an event that is already pending). Returns the unmask result;
/// -EINVAL for ports >= kMaxPorts.
long bind(uint32_t port, uint32_t cpu, Handler handler = nullptr, void* arg = nullptr);

/// Masks port and stops dispatching it (the caller closes it).
void unbind(uint32_t port);

/// Events dispatched on port since boot.
uint64_t count(uint32_t port);

/// Sets or reads the port's bits in shared_info directly.
void mask(uint32_t port);
bool pendingBit(uint32_t port);
bool maskedBit(uint32_t port);

// EVTCHNOP_* hypercalls; return the hypercall's result.
long send(uint32_t port);
long close(uint32_t port);
long unmask(uint32_t port);
long bindVirq(uint32_t virq, uint32_t vcpu, uint32_t& port);
long bindIpi(uint32_t vcpu, uint32_t& port);
long allocUnbound(domid_t remoteDom, uint32_t& port);
long bindInterdomain(domid_t remoteDom, uint32_t remotePort, uint32_t& port);
long status(uint32_t port, evtchn_status& out);

/// Waits once: SCHEDOP_block unless an upcall is already pending, then
/// handles what is pending. Call with interrupts off; returns with them off.
/// Stamps PerCpu::wakeTsc between the two.
void blockOnce();

/// Handles pending upcalls of this vCPU without blocking.
void poll();

/// blockOnce() until cond() holds.
template <typename Cond>
void waitFor(Cond cond) {
  while (!cond()) blockOnce();
}

/// Upcall statistics summed over vCPUs 0..n-1: "irq=<a> polled=<b> empty=<c>".
struct UpcallStats {
  uint64_t irq, polled, empty;
};
UpcallStats stats(uint32_t vcpus);

}  // namespace events
