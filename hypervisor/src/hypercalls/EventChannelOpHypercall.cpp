// event_channel_op: EVTCHNOP_* decoded from guest memory and handed to the
// machine's event channel core with the calling domain's id.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/event_channel.h>

#include "smartvm/evtchn/EventChannels.h"
#include "smartvm/hv/Domain.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {

// Reads the op's struct, runs it, and copies it back when the op has outputs.
template <class Op, class Fn>
int64_t run(HypercallContext& ctx, uint64_t arg, bool hasOutput, Fn fn) {
  Op op{};
  if (!ctx.mem.readObj(arg, op).isOk()) return -EFAULT;
  const int64_t rc = fn(op);
  if (rc == 0 && hasOutput && !ctx.mem.writeObj(arg, op).isOk()) return -EFAULT;
  return rc;
}

}  // namespace

int64_t doEventChannelOp(HypercallContext& ctx, const HypercallArgs& a) {
  evtchn::EventChannels* ec = ctx.domain.eventChannels();
  if (ec == nullptr) return -ENOSYS;
  const uint16_t me = static_cast<uint16_t>(ctx.domain.domid());
  const uint32_t nrVcpus = ctx.domain.vcpuCount();
  switch (a[0]) {
    case EVTCHNOP_alloc_unbound:
      return run<evtchn_alloc_unbound_t>(ctx, a[1], true, [&](auto& o) { return ec->allocUnbound(me, o); });
    case EVTCHNOP_bind_interdomain:
      return run<evtchn_bind_interdomain_t>(ctx, a[1], true, [&](auto& o) { return ec->bindInterdomain(me, o); });
    case EVTCHNOP_bind_virq:
      return run<evtchn_bind_virq_t>(ctx, a[1], true, [&](auto& o) { return ec->bindVirq(me, o, nrVcpus); });
    case EVTCHNOP_bind_ipi:
      return run<evtchn_bind_ipi_t>(ctx, a[1], true, [&](auto& o) { return ec->bindIpi(me, o, nrVcpus); });
    case EVTCHNOP_close:
      return run<evtchn_close_t>(ctx, a[1], false, [&](auto& o) { return ec->close(me, o); });
    case EVTCHNOP_send:
      return run<evtchn_send_t>(ctx, a[1], false, [&](auto& o) { return ec->send(me, o); });
    case EVTCHNOP_status:
      return run<evtchn_status_t>(ctx, a[1], true, [&](auto& o) { return ec->status(me, o); });
    case EVTCHNOP_bind_vcpu:
      return run<evtchn_bind_vcpu_t>(ctx, a[1], false, [&](auto& o) { return ec->bindVcpu(me, o, nrVcpus); });
    case EVTCHNOP_unmask:
      return run<evtchn_unmask_t>(ctx, a[1], false, [&](auto& o) { return ec->unmask(me, o); });
    case EVTCHNOP_reset:
      return run<evtchn_reset_t>(ctx, a[1], false, [&](auto& o) { return ec->reset(me, o); });
    default: return -ENOSYS;  // bind_pirq, FIFO ops, set_priority: not offered
  }
}

}  // namespace smartvm::hv
