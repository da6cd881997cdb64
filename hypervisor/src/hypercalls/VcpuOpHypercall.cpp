// vcpu_op: bringing vCPUs up and down, their timers, vcpu_info and runstate
// placement (xen/common/domain.c do_vcpu_op).
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/vcpu.h>

#include <cstring>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/VcpuContext.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {

constexpr uint64_t kMsPerNs = 1000000;
constexpr uint64_t kStimeDeltaMax = ~0ull >> 2;  // Xen's STIME_DELTA_MAX

int64_t initialise(HypercallContext& ctx, Vcpu& v, uint64_t arg) {
  if (ctx.domain.vcpuInfo(v.id()) == nullptr) return -EINVAL;  // Xen: still on the dummy vcpu_info
  vcpu_hvm_context_t c{};
  if (!ctx.mem.readObj(arg, c).isOk()) return -EFAULT;
  std::lock_guard lk(ctx.domain.vcpuOpMutex());
  if (v.initialised()) return -EEXIST;
  // Never initialised means never run: its registers are ours to set from here.
  auto base = v.backend().fetchSregs();
  if (!base) return -EIO;
  auto state = vcpuStateFromHvmContext(c, *base);
  if (!state) {
    ctx.domain.log().warn("vCPU{}: VCPUOP_initialise of vCPU{} refused: {}", ctx.vcpu.id(), v.id(),
                          state.status().message());
    return -EINVAL;
  }
  if (!v.backend().setSregs(state->sregs).isOk() || !v.backend().setRegs(state->regs).isOk() ||
      !v.backend().makeRunnable().isOk()) {
    return -EIO;
  }
  v.markInitialised();
  return 0;
}

int64_t up(HypercallContext& ctx, Vcpu& v) {
  std::lock_guard lk(ctx.domain.vcpuOpMutex());
  if (!v.initialised()) return -EINVAL;
  if (!v.isUp()) v.bringUp(ctx.domain.dispatcher());
  return 0;
}

int64_t down(HypercallContext& ctx, Vcpu& v) {
  std::lock_guard lk(ctx.domain.vcpuOpMutex());
  // Taking itself down, the caller parks on its way back into the guest and
  // sees 0 when brought up again.
  ctx.domain.takeVcpuDown(v);
  return 0;
}

int64_t registerVcpuInfo(HypercallContext& ctx, Vcpu& v, uint64_t arg) {
  vcpu_register_vcpu_info_t r{};
  if (!ctx.mem.readObj(arg, r).isOk()) return -EFAULT;
  constexpr uint32_t kPage = 4096;
  if (r.offset > kPage - sizeof(vcpu_info_t)) return -EINVAL;
  // Host code updates the fields atomically: keep them naturally aligned.
  if (r.offset % alignof(vcpu_info_t) != 0) return -EINVAL;
  std::lock_guard lk(ctx.domain.vcpuOpMutex());
  if (v.registeredVcpuInfo() != nullptr) return -EINVAL;
  if (&v != &ctx.vcpu && v.isUp()) return -EINVAL;  // only yourself, or a vCPU that is down
  if (r.mfn > (~0ull >> 12)) return -EINVAL;
  auto* nv = reinterpret_cast<vcpu_info_t*>(ctx.domain.ram().hostPtr((r.mfn << 12) + r.offset, sizeof(vcpu_info_t)));
  if (nv == nullptr) return -EINVAL;  // not RAM
  if (vcpu_info_t* old = ctx.domain.vcpuInfo(v.id())) {
    std::memmove(nv, old, sizeof *nv);
  } else {
    std::memset(nv, 0, sizeof *nv);
    nv->evtchn_upcall_mask = 1;
  }
  v.setRegisteredVcpuInfo(nv);
  // As Xen does: mark everything pending so no event is lost in the move.
  __atomic_store_n(&nv->evtchn_pending_sel, ~xen_ulong_t{0}, __ATOMIC_SEQ_CST);
  __atomic_store_n(&nv->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
  v.publishTime();
  (void)ctx.domain.raiseUpcall(v.id());
  return 0;
}

int64_t registerRunstateArea(HypercallContext& ctx, Vcpu& v, uint64_t arg) {
  vcpu_register_runstate_memory_area_t area{};
  if (!ctx.mem.readObj(arg, area).isOk()) return -EFAULT;
  const uint64_t gva = area.addr.p;
  v.setRunstateArea(gva);
  if (gva == 0) return 0;
  // Xen checks the handle only for being addressable, then writes once now.
  const vcpu_runstate_info_t info = v.runstate();
  return ctx.mem.writeObj(gva, info).isOk() ? 0 : -EFAULT;
}

int64_t singleshot(HypercallContext& ctx, Vcpu& v, uint64_t arg) {
  if (&v != &ctx.vcpu) return -EINVAL;
  vcpu_set_singleshot_timer_t t{};
  if (!ctx.mem.readObj(arg, t).isOk()) return -EFAULT;
  if ((t.flags & VCPU_SSHOTTMR_future) && t.timeout_abs_ns < monotonicNs()) return -ETIME;
  v.timers().setSingleshot(t.timeout_abs_ns);
  return 0;
}

int64_t periodic(HypercallContext& ctx, Vcpu& v, uint64_t arg) {
  vcpu_set_periodic_timer_t t{};
  if (!ctx.mem.readObj(arg, t).isOk()) return -EFAULT;
  if (t.period_ns < kMsPerNs || t.period_ns > kStimeDeltaMax) return -EINVAL;
  v.timers().setPeriodic(t.period_ns);
  return 0;
}

}  // namespace

void updateRunstateArea(HypercallContext& ctx) {
  if (const uint64_t gva = ctx.vcpu.runstateArea()) {
    const vcpu_runstate_info_t info = ctx.vcpu.runstate();
    (void)ctx.mem.writeObj(gva, info);
  }
}

int64_t doVcpuOp(HypercallContext& ctx, const HypercallArgs& a) {
  // Xen's vcpuid is an unsigned int; an id past the domain's vCPUs is -ENOENT.
  const uint64_t id = a[1];
  Vcpu* v = id <= 0xffffffffu ? ctx.domain.vcpu(static_cast<uint32_t>(id)) : nullptr;
  if (v == nullptr) return -ENOENT;
  switch (a[0]) {
    case VCPUOP_initialise: return initialise(ctx, *v, a[2]);
    case VCPUOP_up: return up(ctx, *v);
    case VCPUOP_down: return down(ctx, *v);
    case VCPUOP_is_up: return v->isUp() ? 1 : 0;
    case VCPUOP_get_runstate_info: {
      const vcpu_runstate_info_t info = v->runstate();
      return ctx.mem.writeObj(a[2], info).isOk() ? 0 : -EFAULT;
    }
    case VCPUOP_register_runstate_memory_area: return registerRunstateArea(ctx, *v, a[2]);
    case VCPUOP_set_periodic_timer: return periodic(ctx, *v, a[2]);
    case VCPUOP_stop_periodic_timer: v->timers().setPeriodic(0); return 0;
    case VCPUOP_set_singleshot_timer: return singleshot(ctx, *v, a[2]);
    case VCPUOP_stop_singleshot_timer:
      if (v != &ctx.vcpu) return -EINVAL;
      v->timers().stopSingleshot();
      return 0;
    case VCPUOP_register_vcpu_info: return registerVcpuInfo(ctx, *v, a[2]);
    case VCPUOP_get_physid: return -EINVAL;  // the hardware domain's only
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
