// sched_op: yield, block, poll, shutdown, and Smart-VM's parallel-phase hints.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <sched.h>
#include <xen/event_channel.h>
#include <xen/sched.h>

#include "smartvm/abi/sched_parallel.h"
#include "smartvm/evtchn/EventChannels.h"
#include "smartvm/hv/Domain.h"
#include "smartvm/hv/RegisterDump.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {

int64_t block(HypercallContext& ctx) {
  // Xen's SCHEDOP_block enables event delivery, then sleeps unless one is pending.
  vcpu_info_t* vi = ctx.domain.vcpuInfo(ctx.vcpu.id());
  if (vi != nullptr) {
    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) return 0;
  }
  ctx.vcpu.block();
  updateRunstateArea(ctx);
  return 0;
}

// Xen's do_poll: sleeps until one of the ports is pending (masked or not), an
// upcall arrives or the absolute timeout passes. Checks come after the vCPU is
// marked polling, so an event racing with them still wakes it.
int64_t poll(HypercallContext& ctx, uint64_t arg) {
  constexpr uint32_t kMaxPorts = 128;
  sched_poll_t p{};
  if (!ctx.mem.readObj(arg, p).isOk()) return -EFAULT;
  const uint64_t portsGva = reinterpret_cast<uint64_t>(p.ports.p);
  if (p.nr_ports > kMaxPorts) return -EINVAL;
  evtchn::EventChannels* ec = ctx.domain.eventChannels();
  if (ec == nullptr) return -ENOSYS;
  evtchn_port_t ports[kMaxPorts];
  if (p.nr_ports > 0 && !ctx.mem.read(portsGva, ports, p.nr_ports * sizeof(evtchn_port_t)).isOk()) return -EFAULT;
  ctx.vcpu.setPolling(p.nr_ports == 1 ? static_cast<int64_t>(ports[0]) : Vcpu::kAnyPort);
  const uint16_t me = static_cast<uint16_t>(ctx.domain.domid());
  for (uint32_t i = 0; i < p.nr_ports; ++i) {
    // Xen refuses only ports past the ABI's limit; others not in use are not pending.
    if (ports[i] >= EVTCHN_2L_NR_CHANNELS) {
      ctx.vcpu.setPolling(Vcpu::kNotPolling);
      return -EINVAL;
    }
    if (ec->pollPending(me, ports[i]) > 0) {
      ctx.vcpu.setPolling(Vcpu::kNotPolling);
      return 0;
    }
  }
  if (p.timeout != 0 && p.timeout <= monotonicNs()) {
    ctx.vcpu.setPolling(Vcpu::kNotPolling);
    return 0;
  }
  ctx.vcpu.block(p.timeout != 0 ? std::optional<uint64_t>(p.timeout) : std::nullopt);
  updateRunstateArea(ctx);
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

// SMARTVM_SCHEDOP_parallel (sched/include/smartvm/abi/sched_parallel.h):
// -ENOSYS without a scheduler, as on Xen, so a guest just goes on.
int64_t parallel(HypercallContext& ctx, uint64_t arg) {
  smartvm_sched_parallel p{};
  if (!ctx.mem.readObj(arg, p).isOk()) return -EFAULT;
  if (p.pad != 0) return -EINVAL;
  return ctx.vcpu.gate().workHint(p.op);
}

}  // namespace

int64_t doSchedOp(HypercallContext& ctx, const HypercallArgs& a) {
  // Xen's do_sched_op takes an int command: the upper half of the register is ignored.
  switch (static_cast<uint32_t>(a[0])) {
    case SCHEDOP_yield:
      ctx.vcpu.gate().yielded();
      sched_yield();
      return 0;
    case SCHEDOP_block: return block(ctx);
    case SCHEDOP_poll: return poll(ctx, a[1]);
    case SCHEDOP_shutdown: return shutdown(ctx, a[1]);
    case SCHEDOP_shutdown_code: {
      sched_shutdown_t s{};
      if (!ctx.mem.readObj(a[1], s).isOk()) return -EFAULT;
      ctx.domain.setShutdownCode(s.reason & 0xff);
      return 0;
    }
    case SCHEDOP_remote_shutdown:
    case SCHEDOP_pin_override: return -EPERM;  // control-domain only
    case SMARTVM_SCHEDOP_parallel: return parallel(ctx, a[1]);
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
