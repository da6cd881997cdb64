// Hypercalls through the hypercall page, the way a Xen guest makes them:
// "call hypercall_page + 32 * nr", arguments in rdi, rsi, rdx, r10, r8,
// result in rax. Only valid after xen::init() installed the page.
#pragma once
#include <stdint.h>
#include <xen/xen.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/memory.h>
#include <xen/vcpu.h>
#include <xen/event_channel.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/errno.h>

extern "C" char hypercall_page[4096];

namespace xen {

template <unsigned Nr>
inline long hypercall(uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0,
                      uint64_t a5 = 0) {
  static_assert(Nr < 4096 / 32, "hypercall number outside the page");
  register uint64_t r10 asm("r10") = a4;
  register uint64_t r8 asm("r8") = a5;
  long ret;
  asm volatile("call hypercall_page + %c[offset]"
               : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
               : [offset] "i"(Nr * 32)
               : "memory", "cc", "rcx", "r9", "r11");
  return ret;
}

inline uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

inline long xenVersion(int cmd, void* arg) { return hypercall<__HYPERVISOR_xen_version>(cmd, ptr(arg)); }

inline long consoleWrite(const char* buf, uint64_t len) {
  return hypercall<__HYPERVISOR_console_io>(CONSOLEIO_write, len, ptr(buf));
}

inline long schedOp(int cmd, void* arg) { return hypercall<__HYPERVISOR_sched_op>(cmd, ptr(arg)); }

inline long memoryOp(unsigned cmd, void* arg) { return hypercall<__HYPERVISOR_memory_op>(cmd, ptr(arg)); }

inline long hvmOp(unsigned op, void* arg) { return hypercall<__HYPERVISOR_hvm_op>(op, ptr(arg)); }

inline long vcpuOp(int cmd, unsigned vcpu, void* arg) {
  return hypercall<__HYPERVISOR_vcpu_op>(cmd, vcpu, ptr(arg));
}

inline long eventChannelOp(int cmd, void* arg) { return hypercall<__HYPERVISOR_event_channel_op>(cmd, ptr(arg)); }

/// HVMOP_get_param on this domain; value is 0 when the call fails.
inline long getHvmParam(uint32_t index, uint64_t& value) {
  xen_hvm_param_t p{};
  p.domid = DOMID_SELF;
  p.index = index;
  long rc = hvmOp(HVMOP_get_param, &p);
  value = rc == 0 ? p.value : 0;
  return rc;
}

/// The legacy singleshot timer: absolute Xen system time in ns, 0 cancels.
inline long setTimerOp(uint64_t timeoutAbsNs) { return hypercall<__HYPERVISOR_set_timer_op>(timeoutAbsNs); }

}  // namespace xen
