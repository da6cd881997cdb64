// The EVTCHNOP_* operations that give a port a binding.

#include "PortTable.h"
#include "XsmDummy.h"
#include "smartvm/evtchn/EventChannels.h"
#include "smartvm/evtchn/Virq.h"

namespace smartvm::evtchn {

// Checks run in Xen's order (domain lookup, free port, then XSM), because the
// guest can observe which error wins.
int64_t EventChannels::allocUnbound(uint16_t caller, evtchn_alloc_unbound& op) {
  std::lock_guard lock(mutex_);
  uint16_t dom = resolveDomid(caller, op.dom);
  PortTable* d = find(dom);
  if (d == nullptr || find(caller) == nullptr) return -ESRCH;
  auto port = d->findFreePort();
  if (!port) return -ENOSPC;
  if (!mayTarget(caller, dom)) return -EPERM;
  Channel& chn = d->at(*port);
  chn.state = PortState::Unbound;
  chn.remoteDom = resolveDomid(caller, op.remote_dom);
  op.port = *port;
  return 0;
}

int64_t EventChannels::bindInterdomain(uint16_t caller, evtchn_bind_interdomain& op) {
  Upcalls upcalls;
  {
    std::lock_guard lock(mutex_);
    PortTable* ld = find(caller);
    PortTable* rd = find(resolveDomid(caller, op.remote_dom));
    if (ld == nullptr || rd == nullptr) return -ESRCH;
    auto lport = ld->findFreePort();
    if (!lport) return -ENOSPC;
    if (!rd->isValid(op.remote_port)) return -EINVAL;
    Channel& rchn = rd->at(op.remote_port);
    if (rchn.state != PortState::Unbound || rchn.remoteDom != caller) return -EINVAL;
    Channel& lchn = ld->at(*lport);
    lchn = {PortState::Interdomain, 0, rd->domid(), op.remote_port, 0};
    rchn.state = PortState::Interdomain;
    rchn.remoteDom = caller;
    rchn.remotePort = *lport;
    // Xen: notifications sent to the still-unbound peer port were dropped, so
    // conservatively mark the new local port pending.
    setPending(*ld, *lport, lchn.notifyVcpu, upcalls);
    op.local_port = *lport;
  }
  deliver(upcalls);
  return 0;
}

int64_t EventChannels::bindVirq(uint16_t caller, evtchn_bind_virq& op, uint32_t nrVcpus) {
  std::lock_guard lock(mutex_);
  PortTable* d = find(caller);
  if (d == nullptr) return -ESRCH;
  // Xen reads virq as int, so "negative" values fail the same range check.
  if (op.virq >= kNrVirqs) return -EINVAL;
  if (isGlobalVirq(op.virq) && op.vcpu != 0) return -EINVAL;
  if (op.vcpu >= nrVcpus) return -ENOENT;
  if (d->virqPort(op.vcpu, op.virq) != 0) return -EEXIST;
  auto port = d->findFreePort();
  if (!port) return -ENOSPC;
  Channel& chn = d->at(*port);
  chn.state = PortState::Virq;
  chn.notifyVcpu = op.vcpu;
  chn.virq = op.virq;
  d->setVirqPort(op.vcpu, op.virq, *port);
  op.port = *port;
  return 0;
}

int64_t EventChannels::bindIpi(uint16_t caller, evtchn_bind_ipi& op, uint32_t nrVcpus) {
  std::lock_guard lock(mutex_);
  PortTable* d = find(caller);
  if (d == nullptr) return -ESRCH;
  if (op.vcpu >= nrVcpus) return -ENOENT;
  auto port = d->findFreePort();
  if (!port) return -ENOSPC;
  Channel& chn = d->at(*port);
  chn.state = PortState::Ipi;
  chn.notifyVcpu = op.vcpu;
  op.port = *port;
  return 0;
}

int64_t EventChannels::bindVcpu(uint16_t caller, evtchn_bind_vcpu& op, uint32_t nrVcpus) {
  std::lock_guard lock(mutex_);
  PortTable* d = find(caller);
  if (d == nullptr) return -ESRCH;
  if (op.vcpu >= nrVcpus) return -ENOENT;
  if (!d->isValid(op.port)) return -EINVAL;
  Channel& chn = d->at(op.port);
  switch (chn.state) {
    case PortState::Virq:
      if (!isGlobalVirq(chn.virq)) return -EINVAL;
      chn.notifyVcpu = op.vcpu;
      return 0;
    case PortState::Unbound:
    case PortState::Interdomain:
      chn.notifyVcpu = op.vcpu;
      return 0;
    default:
      return -EINVAL;
  }
}

}  // namespace smartvm::evtchn
