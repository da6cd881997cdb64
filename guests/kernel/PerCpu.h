// Per-vCPU data. Each vCPU points its GS base at its own PerCpu, so code
// running anywhere (including the upcall handler) finds it with one load.
#pragma once
#include <stdint.h>
#include <xen/xen.h>

#include "pvh/Boot.h"

namespace events {
/// Ports the guest tracks (bound, dispatched); a multiple of 64.
constexpr uint32_t kMaxPorts = 1024;
constexpr uint32_t kPortWords = kMaxPorts / 64;
}  // namespace events

struct PerCpu {
  PerCpu* self;  // must stay first: thisCpu() reads %gs:0
  uint32_t id;   // Xen vCPU id (= APIC id)
  uint32_t online;        // set by the vCPU once it runs on its own GDT/IDT/TSS/GS
  vcpu_info* vi;          // shared_info->vcpu_info[id]; nullptr until events::init()
  uint64_t stackTop;      // APs: the stack VCPUOP_initialise started it on
  void (*entry)(PerCpu&); // APs: run once up; the vCPU then idles until taken down
  void* arg;              // for entry
  uint32_t finished;      // APs: set when entry returned

  // Event channels (kernel/Events.cpp).
  uint64_t ports[events::kPortWords];  // ports bound to this vCPU
  uint64_t upcallsIrq;     // upcalls taken as an interrupt
  uint64_t upcallsPolled;  // pending upcalls handled without the interrupt
  uint64_t upcallsEmpty;   // interrupts that found nothing pending
  uint64_t wakeTsc;        // TSC when blockOnce() last found an upcall pending (after SCHEDOP_block)

  // Xen timers (kernel/XenTime.cpp).
  uint32_t timerPort;      // VIRQ_TIMER port of this vCPU, 0 before bound
  uint64_t timerEvents;    // VIRQ_TIMER events handled
};

namespace percpu {

/// Every vCPU's data, indexed by vCPU id.
PerCpu& cpu(uint32_t id);

/// Sets up vCPU 0's data and GS base (at boot, before anything uses thisCpu()).
void initBsp();

/// Points this vCPU's GS base at c (APs, after loading their segments).
void setGsBase(PerCpu& c);

}  // namespace percpu

/// The calling vCPU's data.
inline PerCpu& thisCpu() {
  PerCpu* p;
  asm volatile("mov %%gs:0, %0" : "=r"(p));
  return *p;
}

/// Relaxed atomic accessors for fields one vCPU writes and others read.
template <typename T>
inline T loadShared(const T& v) {
  return __atomic_load_n(&v, __ATOMIC_ACQUIRE);
}
template <typename T>
inline void storeShared(T& v, T value) {
  __atomic_store_n(&v, value, __ATOMIC_RELEASE);
}
