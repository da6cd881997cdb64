// vcpu_op: per-vCPU queries (more arrives with SMP and timers).
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/vcpu.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {

int64_t doVcpuOp(HypercallContext& ctx, const HypercallArgs& a) {
  // Xen's vcpuid is an unsigned int; an id past the domain's vCPUs is -ENOENT.
  const uint64_t id = a[1];
  Vcpu* v = id <= 0xffffffffu ? ctx.domain.vcpu(static_cast<uint32_t>(id)) : nullptr;
  if (v == nullptr) return -ENOENT;
  switch (a[0]) {
    case VCPUOP_get_runstate_info: {
      const vcpu_runstate_info_t info = v->runstate();
      return ctx.mem.writeObj(a[2], info).isOk() ? 0 : -EFAULT;
    }
    case VCPUOP_is_up: return v->isUp() ? 1 : 0;
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
