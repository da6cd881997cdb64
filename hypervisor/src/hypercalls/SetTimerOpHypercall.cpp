// set_timer_op: the legacy singleshot timer (xen/common/sched/core.c do_set_timer_op).
#include "smartvm/hv/Domain.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {

int64_t doSetTimerOp(HypercallContext& ctx, const HypercallArgs& a) {
  // 32-bit callers pass the 64-bit timeout in two registers (low, high).
  const uint64_t timeout = ctx.longMode ? a[0] : (a[0] & 0xffffffffu) | (a[1] << 32);
  VcpuTimers& t = ctx.vcpu.timers();
  if (timeout == 0) {
    t.stopSingleshot();
    return 0;
  }
  const uint64_t now = monotonicNs();
  // Xen: a negative timeout or one more than 2^50 ns (~13 days) away is a
  // wrapped guest value; firing at once could spin the guest, never could
  // hang it, so Xen's middle ground is an event in 100 ms.
  if (static_cast<int64_t>(timeout) < 0 || (timeout > now && ((timeout - now) >> 50) != 0)) {
    ctx.domain.log().info("vCPU{}: huge timeout {:#x}: firing in 100 ms", ctx.vcpu.id(), timeout);
    t.setSingleshot(now + 100'000'000ull);
    return 0;
  }
  t.setSingleshot(timeout);
  return 0;
}

}  // namespace smartvm::hv
