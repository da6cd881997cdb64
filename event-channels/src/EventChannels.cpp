#include "smartvm/evtchn/EventChannels.h"

#include <algorithm>
#include <utility>

#include "PortTable.h"
#include "XsmDummy.h"
#include "smartvm/evtchn/Virq.h"

namespace smartvm::evtchn {

EventChannels::EventChannels(Notify notify) : notify_(std::move(notify)) {}

EventChannels::~EventChannels() = default;

Status EventChannels::addDomain(uint16_t domid, std::unique_ptr<PortAbi> abi, uint32_t maxPorts) {
  if (domid >= DOMID_FIRST_RESERVED) return error(EINVAL, "reserved domid");
  if (abi == nullptr) return error(EINVAL, "event channel domain needs a port ABI");
  if (maxPorts == 0) return error(EINVAL, "event channel domain needs at least one port");
  std::lock_guard lock(mutex_);
  if (domains_.contains(domid)) return error(EEXIST, "domain already has event channels");
  uint32_t limit = std::min(maxPorts, abi->maxPorts());
  domains_.emplace(domid, std::make_unique<PortTable>(domid, std::move(abi), limit));
  return Status::ok();
}

void EventChannels::removeDomain(uint16_t domid) {
  std::lock_guard lock(mutex_);
  PortTable* d = find(domid);
  if (d == nullptr) return;
  for (uint32_t port = 0; port < d->validPorts(); ++port) {
    const Channel& chn = d->at(port);
    if (chn.state != PortState::Interdomain || chn.remoteDom == domid) continue;
    Channel& peer = find(chn.remoteDom)->at(chn.remotePort);
    peer.state = PortState::Unbound;
    peer.remoteDom = domid;
    peer.remotePort = 0;
  }
  domains_.erase(domid);
}

bool EventChannels::hasDomain(uint16_t domid) const {
  std::lock_guard lock(mutex_);
  return find(domid) != nullptr;
}

PortTable* EventChannels::find(uint16_t domid) const {
  auto it = domains_.find(domid);
  return it == domains_.end() ? nullptr : it->second.get();
}

void EventChannels::setPending(PortTable& d, uint32_t port, uint32_t vcpu, Upcalls& out) {
  if (d.abi().setPending(port, vcpu)) out.push_back({d.domid(), vcpu});
}

void EventChannels::deliver(const Upcalls& upcalls) const {
  if (!notify_) return;
  for (const Upcall& u : upcalls) notify_(u.domid, u.vcpu);
}

// Xen's evtchn_close with guest = true.
int64_t EventChannels::closePort(PortTable& d, uint32_t port) {
  if (!d.isValid(port)) return -EINVAL;
  Channel& chn = d.at(port);
  switch (chn.state) {
    case PortState::Free:
    case PortState::Reserved:
      return -EINVAL;
    case PortState::Virq:
      d.forgetVirqPort(chn.virq, port);
      break;
    case PortState::Interdomain: {
      Channel& peer = find(chn.remoteDom)->at(chn.remotePort);
      peer.state = PortState::Unbound;
      peer.remoteDom = d.domid();
      peer.remotePort = 0;
      break;
    }
    case PortState::Unbound:
    case PortState::Ipi:
      break;
  }
  d.freePort(port);
  return 0;
}

int64_t EventChannels::close(uint16_t caller, evtchn_close& op) {
  std::lock_guard lock(mutex_);
  PortTable* d = find(caller);
  if (d == nullptr) return -ESRCH;
  return closePort(*d, op.port);
}

int64_t EventChannels::send(uint16_t caller, evtchn_send& op) {
  Upcalls upcalls;
  int64_t rc = 0;
  {
    std::lock_guard lock(mutex_);
    PortTable* d = find(caller);
    if (d == nullptr) return -ESRCH;
    if (!d->isValid(op.port)) return -EINVAL;
    const Channel& chn = d->at(op.port);
    switch (chn.state) {
      case PortState::Interdomain: {
        PortTable& rd = *find(chn.remoteDom);
        setPending(rd, chn.remotePort, rd.at(chn.remotePort).notifyVcpu, upcalls);
        break;
      }
      case PortState::Ipi:
        setPending(*d, op.port, chn.notifyVcpu, upcalls);
        break;
      case PortState::Unbound:
        break;  // Xen drops the notification silently
      default:
        rc = -EINVAL;
    }
  }
  deliver(upcalls);
  return rc;
}

int64_t EventChannels::status(uint16_t caller, evtchn_status& op) {
  std::lock_guard lock(mutex_);
  uint16_t dom = resolveDomid(caller, op.dom);
  const PortTable* d = find(dom);
  if (d == nullptr || find(caller) == nullptr) return -ESRCH;
  if (!mayTarget(caller, dom)) return -EPERM;
  if (!d->isValid(op.port)) return -EINVAL;
  const Channel& chn = d->at(op.port);
  op.u = {};
  switch (chn.state) {
    case PortState::Free:
    case PortState::Reserved:
      op.status = EVTCHNSTAT_closed;
      break;
    case PortState::Unbound:
      op.status = EVTCHNSTAT_unbound;
      op.u.unbound.dom = chn.remoteDom;
      break;
    case PortState::Interdomain:
      op.status = EVTCHNSTAT_interdomain;
      op.u.interdomain.dom = chn.remoteDom;
      op.u.interdomain.port = chn.remotePort;
      break;
    case PortState::Virq:
      op.status = EVTCHNSTAT_virq;
      op.u.virq = chn.virq;
      break;
    case PortState::Ipi:
      op.status = EVTCHNSTAT_ipi;
      break;
  }
  op.vcpu = chn.notifyVcpu;
  return 0;
}

int64_t EventChannels::unmask(uint16_t caller, evtchn_unmask& op) {
  Upcalls upcalls;
  {
    std::lock_guard lock(mutex_);
    PortTable* d = find(caller);
    if (d == nullptr) return -ESRCH;
    if (!d->isValid(op.port)) return -EINVAL;
    uint32_t vcpu = d->at(op.port).notifyVcpu;
    if (d->abi().unmask(op.port, vcpu)) upcalls.push_back({caller, vcpu});
  }
  deliver(upcalls);
  return 0;
}

int64_t EventChannels::reset(uint16_t caller, evtchn_reset& op) {
  std::lock_guard lock(mutex_);
  uint16_t dom = resolveDomid(caller, op.dom);
  PortTable* d = find(dom);
  if (d == nullptr || find(caller) == nullptr) return -ESRCH;
  if (!mayTarget(caller, dom)) return -EPERM;
  for (uint32_t port = 1; port < d->validPorts(); ++port) {
    (void)closePort(*d, port);  // free ports answer -EINVAL, as in Xen's loop
  }
  d->abi().reset();
  return 0;
}

void EventChannels::raiseVirq(uint16_t domid, uint32_t virq, uint32_t vcpu) {
  Upcalls upcalls;
  {
    std::lock_guard lock(mutex_);
    PortTable* d = find(domid);
    if (d == nullptr || virq >= kNrVirqs) return;
    bool global = isGlobalVirq(virq);
    uint32_t port = d->virqPort(global ? 0 : vcpu, virq);
    if (port == 0) return;
    setPending(*d, port, global ? d->at(port).notifyVcpu : vcpu, upcalls);
  }
  deliver(upcalls);
}

std::vector<PortInfo> EventChannels::listPorts(uint16_t domid) const {
  std::lock_guard lock(mutex_);
  std::vector<PortInfo> out;
  const PortTable* d = find(domid);
  if (d == nullptr) return out;
  for (uint32_t port = 0; port < d->validPorts(); ++port) {
    const Channel& chn = d->at(port);
    if (chn.state == PortState::Free) continue;
    out.push_back({port, chn.state, chn.notifyVcpu, chn.remoteDom, chn.remotePort, chn.virq,
                   d->abi().isPending(port), d->abi().isMasked(port)});
  }
  return out;
}

int64_t EventChannels::pollPending(uint16_t domid, uint32_t port) const {
  std::lock_guard lock(mutex_);
  const PortTable* d = find(domid);
  if (d == nullptr) return -ESRCH;
  if (!d->isValid(port)) return -EINVAL;
  return d->abi().isPending(port) ? 1 : 0;
}

}  // namespace smartvm::evtchn
