#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/hypercalls/HypercallTable.h"

#include <xen/xen.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/RateLimitedLog.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {
namespace {
constexpr uint64_t kEferLma = 1u << 10;
}  // namespace

HypercallTable HypercallTable::standard() {
  HypercallTable t;
  t.set(__HYPERVISOR_xen_version, doXenVersion, true);
  t.set(__HYPERVISOR_console_io, doConsoleIo, true);
  t.set(__HYPERVISOR_sched_op, doSchedOp, true);
  t.set(__HYPERVISOR_memory_op, doMemoryOp);
  t.set(__HYPERVISOR_hvm_op, doHvmOp);
  t.set(__HYPERVISOR_vcpu_op, doVcpuOp);
  t.set(__HYPERVISOR_event_channel_op, doEventChannelOp);
  t.set(__HYPERVISOR_grant_table_op, doGrantTableOp);
  t.set(__HYPERVISOR_set_timer_op, doSetTimerOp, true);  // Xen's compat_set_timer_op (lo, hi)
  return t;
}

void HypercallTable::set(unsigned nr, HypercallHandler handler, bool compat32) {
  if (nr < entries_.size()) entries_[nr] = {handler, compat32};
}

int64_t HypercallTable::invoke(HypercallContext& ctx, uint64_t nr, const HypercallArgs& args) const {
  DomainCounters& c = ctx.domain.counters();
  const Entry* e = nr < entries_.size() ? &entries_[nr] : nullptr;
  if (e == nullptr || e->handler == nullptr || (!ctx.longMode && !e->compat32)) {
    if (shouldLog(c.unknownHypercalls)) {
      ctx.domain.log().warn("vCPU{}: unimplemented hypercall {} ({}{}): -ENOSYS", ctx.vcpu.id(), nr,
                            hypercallName(static_cast<unsigned>(std::min<uint64_t>(nr, 0xffff))),
                            ctx.longMode ? "" : ", 32-bit caller");
    }
    return -ENOSYS;
  }
  c.hypercalls[nr].fetch_add(1, std::memory_order_relaxed);
  return e->handler(ctx, args);
}

ExitAction HypercallTable::dispatch(Vcpu& vcpu) const {
  VcpuBackend& be = vcpu.backend();
  kvm_regs& r = be.regs();
  const kvm_sregs& s = be.sregs();
  const bool longMode = (s.efer & kEferLma) != 0 && s.cs.l;
  const uint64_t mask = longMode ? ~0ull : 0xffffffffull;
  const uint64_t nr = r.rax & mask;
  const HypercallArgs args = longMode ? HypercallArgs{r.rdi, r.rsi, r.rdx, r.r10, r.r8}
                                      : HypercallArgs{r.rbx & mask, r.rcx & mask, r.rdx & mask, r.rsi & mask,
                                                      r.rdi & mask};
  int64_t result;
  ExitAction action = ExitAction::Continue;
  if (s.ss.dpl != 0) {
    result = -EPERM;  // Xen refuses HVM hypercalls from user mode
  } else {
    GuestVirtMemory mem(vcpu.domain().ram(), PagingState{s.cr0, s.cr3, s.cr4, s.efer});
    HypercallContext ctx{vcpu, vcpu.domain(), mem, longMode};
    result = invoke(ctx, nr, args);
    action = ctx.action;
  }
  r.rax = static_cast<uint64_t>(result) & mask;
  be.markRegsDirty();
  return action;
}

int64_t checkSelfDomid(const Domain& caller, uint16_t domid) {
  if (domid == DOMID_SELF || domid == caller.domid()) return 0;
  return domid >= DOMID_FIRST_RESERVED ? -ESRCH : -EPERM;
}

}  // namespace smartvm::hv
