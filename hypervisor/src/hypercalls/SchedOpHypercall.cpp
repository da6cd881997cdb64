// sched_op: yield, block and shutdown.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <sched.h>
#include <xen/sched.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/RegisterDump.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {

int64_t block(HypercallContext& ctx) {
  // Xen's SCHEDOP_block enables event delivery, then sleeps unless one is pending.
  vcpu_info_t* vi = ctx.domain.sharedInfo().vcpuInfo(ctx.vcpu.id());
  if (vi != nullptr) {
    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) return 0;
  }
  ctx.vcpu.block();
  return 0;
}

int64_t shutdown(HypercallContext& ctx, uint64_t arg) {
  sched_shutdown_t s{};
  if (!ctx.mem.readObj(arg, s).isOk()) return -EFAULT;
  // Xen keeps only the low byte of the reason.
  const unsigned reason = s.reason & 0xff;
  ctx.domain.log().info("vCPU{}: guest requested shutdown ({})", ctx.vcpu.id(), shutdownReasonName(reason));
  ctx.domain.shutdown(reason);
  ctx.action = ExitAction::Stop;
  return 0;
}

}  // namespace

int64_t doSchedOp(HypercallContext& ctx, const HypercallArgs& a) {
  switch (a[0]) {
    case SCHEDOP_yield: sched_yield(); return 0;
    case SCHEDOP_block: return block(ctx);
    case SCHEDOP_shutdown: return shutdown(ctx, a[1]);
    case SCHEDOP_shutdown_code: {
      sched_shutdown_t s{};
      if (!ctx.mem.readObj(a[1], s).isOk()) return -EFAULT;
      ctx.domain.setShutdownCode(s.reason & 0xff);
      return 0;
    }
    case SCHEDOP_remote_shutdown:
    case SCHEDOP_pin_override: return -EPERM;  // control-domain only
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
