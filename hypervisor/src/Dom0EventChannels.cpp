#include "smartvm/hv/Dom0EventChannels.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "smartvm/evtchn/Virq.h"

namespace smartvm::hv {
namespace {

constexpr uint16_t kDom0 = evtchn::EventChannels::kControlDomain;
// dom0 has one "vCPU" for VIRQ bindings: the host is not split into vCPUs.
constexpr uint32_t kDom0Vcpus = 1;

/// Control requests carry 32-bit domids; Xen's are 16 bits, so wider values
/// are refused here instead of being truncated into somebody else's domid.
Result<uint16_t> domidArg(const char* field, uint32_t value) {
  if (value > 0xffff) return error(EINVAL, fmt::format("{} {} is not a domain id (domids are 16 bits)", field, value));
  return static_cast<uint16_t>(value);
}

uint16_t self(uint16_t dom) { return dom == DOMID_SELF ? kDom0 : dom; }

/// A failed EVTCHNOP's -errno with a message; `what` says what went wrong for
/// the codes an op documents, anything else gets a generic line.
Status xenError(int64_t rc, const std::string& op, const std::string& what) {
  const int code = static_cast<int>(-rc);
  if (!what.empty()) return error(code, what);
  return error(code, fmt::format("{} failed ({})", op, errnoName(code)));
}

const char* stateName(uint32_t evtchnstat) {
  switch (evtchnstat) {
    case EVTCHNSTAT_closed: return "closed";
    case EVTCHNSTAT_unbound: return "unbound";
    case EVTCHNSTAT_interdomain: return "interdomain";
    case EVTCHNSTAT_pirq: return "pirq";
    case EVTCHNSTAT_virq: return "virq";
    case EVTCHNSTAT_ipi: return "ipi";
    default: return "?";
  }
}

evtchn::PortState fromEvtchnStat(uint32_t status) {
  switch (status) {
    case EVTCHNSTAT_unbound: return evtchn::PortState::Unbound;
    case EVTCHNSTAT_interdomain: return evtchn::PortState::Interdomain;
    case EVTCHNSTAT_virq: return evtchn::PortState::Virq;
    case EVTCHNSTAT_ipi: return evtchn::PortState::Ipi;
    default: return evtchn::PortState::Free;
  }
}

}  // namespace

Dom0EventChannels::Dom0EventChannels(evtchn::EventChannels& ec)
    : ec_(ec), abi_(nullptr), doorbells_([this](uint32_t port) {
        evtchn_send op{port};
        (void)ec_.send(kDom0, op);  // an unbound peer drops it, as in Xen
      }) {
  auto abi = std::make_unique<evtchn::HostPortAbi>();
  evtchn::HostPortAbi* raw = abi.get();
  if (Status s = ec_.addDomain(kDom0, std::move(abi)); !s) {
    spdlog::error("domain 0 cannot join event channels: {}", s.toString());
    return;
  }
  abi_ = raw;
}

Dom0EventChannels::~Dom0EventChannels() {
  {
    std::lock_guard lk(m_);
    for (auto& [owner, ports] : owners_) {
      while (!ports.empty()) (void)closeLocked(owner, ports.begin()->first);
    }
    owners_.clear();
  }
  if (abi_ != nullptr) ec_.removeDomain(kDom0);
}

Dom0EventChannels::OwnerId Dom0EventChannels::openOwner() {
  std::lock_guard lk(m_);
  const OwnerId id = nextOwner_++;
  owners_[id];
  return id;
}

void Dom0EventChannels::closeOwner(OwnerId owner) {
  std::lock_guard lk(m_);
  auto it = owners_.find(owner);
  if (it == owners_.end()) return;
  if (!it->second.empty()) {
    spdlog::debug("dom0 event channels: closing {} port(s) of owner {}", it->second.size(), owner);
  }
  while (!it->second.empty()) (void)closeLocked(owner, it->second.begin()->first);
  owners_.erase(it);
}

size_t Dom0EventChannels::doorbellCount() const {
  size_t internal = 0;
  {
    std::lock_guard lk(internalM_);  // not held into doorbells_: onNotify takes them the other way round
    internal = internal_.size();
  }
  const size_t all = doorbells_.size();
  return all > internal ? all - internal : 0;
}

Result<uint32_t> Dom0EventChannels::bindInternal(uint32_t remoteDom, uint32_t remotePort,
                                                 std::function<void()> onNotify) {
  SMARTVM_ASSIGN_OR_RETURN(const uint16_t r, domidArg("remote_dom", remoteDom));
  std::lock_guard lk(m_);
  if (abi_ == nullptr) return error(EBADF, "domain 0 has no event channels");
  evtchn_bind_interdomain op{r, remotePort, 0};
  if (const int64_t rc = ec_.bindInterdomain(kDom0, op); rc < 0) {
    return xenError(rc, "bind_interdomain", fmt::format("port {} of domain {} cannot be bound by domain 0 ({})",
                                                        remotePort, r, errnoName(static_cast<int>(-rc))));
  }
  const uint32_t port = op.local_port;
  auto giveBack = [&](Status why) {
    evtchn_close close{port};
    (void)ec_.close(kDom0, close);
    return why;
  };
  auto notify = abi_->eventFd(port);
  if (!notify) return giveBack(notify.status());
  // Recorded before the watch starts, so the first onNotify may already send;
  // internalM_ is not held into watch(): onNotify takes the locks the other way round.
  {
    std::lock_guard ilk(internalM_);
    internal_[port] = 0;
  }
  auto token = doorbells_.watch(port, std::move(*notify), std::move(onNotify));
  std::lock_guard ilk(internalM_);
  if (!token) {
    internal_.erase(port);
    return giveBack(token.status());
  }
  internal_[port] = *token;
  return port;
}

Status Dom0EventChannels::sendInternal(uint32_t port) {
  {
    std::lock_guard lk(internalM_);
    if (!internal_.contains(port)) return error(ENOTCONN, fmt::format("dom0 port {} is not served internally", port));
  }
  evtchn_send op{port};
  if (const int64_t rc = ec_.send(kDom0, op); rc < 0) return xenError(rc, "send", "");
  return Status::ok();
}

void Dom0EventChannels::closeInternal(uint32_t port) {
  uint64_t token = 0;
  {
    std::lock_guard lk(internalM_);
    auto it = internal_.find(port);
    if (it == internal_.end()) return;
    token = it->second;
    internal_.erase(it);
  }
  // The watch goes first (waiting out an onNotify in flight), then the port:
  // nothing can reach onNotify's owner once this returns.
  doorbells_.remove(token);
  std::lock_guard lk(m_);
  evtchn_close op{port};
  if (const int64_t rc = ec_.close(kDom0, op); rc < 0) {
    spdlog::warn("dom0 event channels: closing internal port {} answered {}", port, errnoName(static_cast<int>(-rc)));
  }
}

size_t Dom0EventChannels::portCount(OwnerId owner) const {
  std::lock_guard lk(m_);
  auto it = owners_.find(owner);
  return it == owners_.end() ? 0 : it->second.size();
}

Result<Dom0EventChannels::BoundPort> Dom0EventChannels::adoptLocked(OwnerId owner, uint32_t port) {
  auto giveBack = [&](Status why) {
    evtchn_close op{port};
    (void)ec_.close(kDom0, op);
    return why;
  };
  auto notify = abi_->eventFd(port);
  if (!notify) return giveBack(notify.status());
  auto bell = doorbells_.add(port);
  if (!bell) return giveBack(bell.status());
  owners_[owner][port] = Owned{bell->token};
  return BoundPort{port, kDom0, std::move(*notify), std::move(bell->clientFd)};
}

Result<Dom0EventChannels::BoundPort> Dom0EventChannels::allocUnbound(OwnerId owner, uint32_t dom, uint32_t remoteDom) {
  SMARTVM_ASSIGN_OR_RETURN(const uint16_t d, domidArg("dom", dom));
  SMARTVM_ASSIGN_OR_RETURN(const uint16_t r, domidArg("remote_dom", remoteDom));
  std::lock_guard lk(m_);
  const bool forDom0 = self(d) == kDom0;
  if (forDom0 && (abi_ == nullptr || !owners_.contains(owner))) {
    return error(EBADF, "this connection cannot own dom0 ports");
  }
  evtchn_alloc_unbound op{d, r, 0};
  if (const int64_t rc = ec_.allocUnbound(kDom0, op); rc < 0) {
    std::string what;
    if (rc == -ESRCH) what = fmt::format("no domain {} (it has no event channels)", d);
    if (rc == -ENOSPC) what = fmt::format("domain {} has no free event channel port", self(d));
    return xenError(rc, "alloc_unbound", what);
  }
  if (!forDom0) return BoundPort{op.port, d, {}, {}};
  return adoptLocked(owner, op.port);
}

Result<Dom0EventChannels::BoundPort> Dom0EventChannels::bindInterdomain(OwnerId owner, uint32_t remoteDom,
                                                                        uint32_t remotePort) {
  SMARTVM_ASSIGN_OR_RETURN(const uint16_t r, domidArg("remote_dom", remoteDom));
  std::lock_guard lk(m_);
  if (abi_ == nullptr || !owners_.contains(owner)) return error(EBADF, "this connection cannot own dom0 ports");
  evtchn_bind_interdomain op{r, remotePort, 0};
  if (const int64_t rc = ec_.bindInterdomain(kDom0, op); rc < 0) {
    std::string what;
    if (rc == -ESRCH) what = fmt::format("no domain {} (it has no event channels)", r);
    if (rc == -ENOSPC) what = "domain 0 has no free event channel port";
    if (rc == -EINVAL) {
      evtchn_status st{};
      st.dom = r;
      st.port = remotePort;
      if (ec_.status(kDom0, st) < 0) {
        what = fmt::format("domain {} has no port {}", self(r), remotePort);
      } else if (st.status != EVTCHNSTAT_unbound) {
        what = fmt::format("port {} of domain {} is {}, not unbound", remotePort, self(r), stateName(st.status));
      } else {
        what = fmt::format("port {} of domain {} is offered to domain {}, not to domain 0", remotePort, self(r),
                           st.u.unbound.dom);
      }
    }
    return xenError(rc, "bind_interdomain", what);
  }
  return adoptLocked(owner, op.local_port);
}

Result<Dom0EventChannels::BoundPort> Dom0EventChannels::bindVirq(OwnerId owner, uint32_t virq) {
  std::lock_guard lk(m_);
  if (abi_ == nullptr || !owners_.contains(owner)) return error(EBADF, "this connection cannot own dom0 ports");
  evtchn_bind_virq op{virq, 0, 0};
  if (const int64_t rc = ec_.bindVirq(kDom0, op, kDom0Vcpus); rc < 0) {
    std::string what;
    if (rc == -EINVAL) what = fmt::format("VIRQ {} does not exist (VIRQs are 0..{})", virq, evtchn::kNrVirqs - 1);
    if (rc == -EEXIST) {
      uint32_t port = 0;
      for (const evtchn::PortInfo& p : ec_.listPorts(kDom0)) {
        if (p.state == evtchn::PortState::Virq && p.virq == virq) port = p.port;
      }
      what = fmt::format("VIRQ {} is already bound in domain 0 (port {}); one binding per VIRQ, as in Xen", virq, port);
    }
    if (rc == -ENOSPC) what = "domain 0 has no free event channel port";
    return xenError(rc, "bind_virq", what);
  }
  return adoptLocked(owner, op.port);
}

Status Dom0EventChannels::notOwned(uint32_t port) const {
  if (abi_ == nullptr || port >= abi_->maxPorts()) {
    return error(EINVAL, fmt::format("port {} is out of range (domain 0 has {} ports)", port,
                                     abi_ == nullptr ? 0 : abi_->maxPorts()));
  }
  return error(ENOTCONN, fmt::format("port {} is not a dom0 port bound by this connection", port));
}

Status Dom0EventChannels::send(OwnerId owner, uint32_t port) {
  std::lock_guard lk(m_);
  auto it = owners_.find(owner);
  if (it == owners_.end() || !it->second.contains(port)) return notOwned(port);
  evtchn_send op{port};
  if (const int64_t rc = ec_.send(kDom0, op); rc < 0) {
    return xenError(rc, "send",
                    rc == -EINVAL ? fmt::format("port {} is bound to a VIRQ: there is no peer to notify", port) : "");
  }
  return Status::ok();
}

Status Dom0EventChannels::close(OwnerId owner, uint32_t port) {
  std::lock_guard lk(m_);
  auto it = owners_.find(owner);
  if (it == owners_.end() || !it->second.contains(port)) return notOwned(port);
  return closeLocked(owner, port);
}

Status Dom0EventChannels::closeLocked(OwnerId owner, uint32_t port) {
  auto& ports = owners_[owner];
  auto it = ports.find(port);
  if (it == ports.end()) return notOwned(port);
  // The doorbell goes first: once remove() returns no ring is in flight, so a
  // late ring cannot land on whoever is given this port number next.
  doorbells_.remove(it->second.doorbellToken);
  ports.erase(it);
  evtchn_close op{port};
  if (const int64_t rc = ec_.close(kDom0, op); rc < 0) {
    spdlog::warn("dom0 event channels: closing port {} answered {}", port, errnoName(static_cast<int>(-rc)));
    return xenError(rc, "close", "");
  }
  return Status::ok();
}

Result<evtchn::PortInfo> Dom0EventChannels::status(uint32_t dom, uint32_t port) {
  SMARTVM_ASSIGN_OR_RETURN(const uint16_t d, domidArg("dom", dom));
  evtchn_status st{};
  st.dom = d;
  st.port = port;
  if (const int64_t rc = ec_.status(kDom0, st); rc < 0) {
    std::string what;
    if (rc == -ESRCH) what = fmt::format("no domain {} (it has no event channels)", d);
    if (rc == -EINVAL) what = fmt::format("domain {} has no port {}", self(d), port);
    return xenError(rc, "status", what);
  }
  evtchn::PortInfo info;
  info.port = port;
  info.state = fromEvtchnStat(st.status);
  info.vcpu = st.vcpu;
  if (st.status == EVTCHNSTAT_unbound) info.remoteDom = st.u.unbound.dom;
  if (st.status == EVTCHNSTAT_interdomain) {
    info.remoteDom = st.u.interdomain.dom;
    info.remotePort = st.u.interdomain.port;
  }
  if (st.status == EVTCHNSTAT_virq) info.virq = st.u.virq;
  // Xen's status has no pending/masked; the listing does (and knows port 0 is Reserved).
  for (const evtchn::PortInfo& p : ec_.listPorts(self(d))) {
    if (p.port == port) {
      info.state = p.state;
      info.pending = p.pending;
      info.masked = p.masked;
    }
  }
  return info;
}

Result<std::vector<evtchn::PortInfo>> Dom0EventChannels::listPorts(uint32_t dom) {
  SMARTVM_ASSIGN_OR_RETURN(const uint16_t d, domidArg("dom", dom));
  if (!ec_.hasDomain(self(d))) return error(ESRCH, fmt::format("no domain {} (it has no event channels)", d));
  return ec_.listPorts(self(d));
}

}  // namespace smartvm::hv
