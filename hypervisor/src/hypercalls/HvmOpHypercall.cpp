// hvm_op: HVM parameters, with Xen's rules on which a guest may read or set.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

#include "smartvm/hv/Domain.h"
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

}  // namespace

int64_t doHvmOp(HypercallContext& ctx, const HypercallArgs& a) {
  switch (a[0]) {
    case HVMOP_set_param: return param(ctx, a[1], true);
    case HVMOP_get_param: return param(ctx, a[1], false);
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
