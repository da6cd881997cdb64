// hvm_op: HVM parameters, with Xen's rules on which a guest may read or set.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {

// Xen's hvm_allow_set_param: what a domain may set on itself.
bool guestMaySet(uint32_t index) {
  switch (index) {
    case HVM_PARAM_CALLBACK_IRQ:
    case HVM_PARAM_VM86_TSS:
    case HVM_PARAM_VM86_TSS_SIZED:
    case HVM_PARAM_ACPI_IOPORTS_LOCATION:
    case HVM_PARAM_VM_GENERATION_ID_ADDR:
    case HVM_PARAM_STORE_EVTCHN:
    case HVM_PARAM_CONSOLE_EVTCHN:
    case HVM_PARAM_X87_FIP_WIDTH: return true;
    default: return false;
  }
}

// Xen's hvm_allow_get_param: what a domain may set, plus the frames and
// features the toolstack set up for it.
bool guestMayGet(uint32_t index) {
  return guestMaySet(index) || index == HVM_PARAM_STORE_PFN || index == HVM_PARAM_CONSOLE_PFN ||
         index == HVM_PARAM_ALTP2M;
}

int64_t param(HypercallContext& ctx, uint64_t arg, bool set) {
  xen_hvm_param_t p{};
  if (!ctx.mem.readObj(arg, p).isOk()) return -EFAULT;
  if (int64_t rc = checkSelfDomid(ctx.domain, p.domid)) return rc;
  if (p.index >= HVM_NR_PARAMS) return -EINVAL;
  if (set) {
    if (!guestMaySet(p.index)) return -EPERM;
    ctx.domain.setHvmParam(p.index, p.value);
    return 0;
  }
  if (!guestMayGet(p.index)) return -EPERM;
  p.value = ctx.domain.hvmParam(p.index);
  return ctx.mem.writeObj(arg, p).isOk() ? 0 : -EFAULT;
}

// Xen 4.17's per-vCPU upcall vector, preferred over HVM_PARAM_CALLBACK_IRQ.
// Delivered through the LAPIC like any interrupt, so the guest EOIs it.
int64_t upcallVector(HypercallContext& ctx, uint64_t arg) {
  xen_hvm_evtchn_upcall_vector_t op{};
  if (!ctx.mem.readObj(arg, op).isOk()) return -EFAULT;
  if (op.vector < 0x10) return -EINVAL;
  Vcpu* v = ctx.domain.vcpu(op.vcpu);
  if (v == nullptr) return -ENOENT;
  v->setUpcallVector(op.vector);
  // Deliver what is already pending (Xen's hvm_assert_evtchn_irq).
  if (vcpu_info_t* vi = ctx.domain.vcpuInfo(op.vcpu); vi && __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
    (void)ctx.domain.raiseUpcall(op.vcpu);
  }
  return 0;
}

}  // namespace

int64_t doHvmOp(HypercallContext& ctx, const HypercallArgs& a) {
  switch (a[0]) {
    case HVMOP_set_param: return param(ctx, a[1], true);
    case HVMOP_get_param: return param(ctx, a[1], false);
    case HVMOP_set_evtchn_upcall_vector: return upcallVector(ctx, a[1]);
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
