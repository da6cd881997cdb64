// The control socket's event channel operations: a connection is domain 0's
// event channel endpoint (see proto/smartvm/control/v1/control.proto).
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

namespace pb = smartvm::control::v1;

/// Longest debug-keys string accepted; xl sends a handful of letters.
constexpr size_t kMaxDebugKeys = 64;

pb::Response failed(const Status& s) {
  pb::Response r;
  r.set_error_code(s.code());
  r.set_error(s.message());
  return r;
}

smartvm::v1::EventChannelState toProto(evtchn::PortState s) {
  switch (s) {
    case evtchn::PortState::Free: return smartvm::v1::EVENT_CHANNEL_STATE_CLOSED;
    case evtchn::PortState::Reserved: return smartvm::v1::EVENT_CHANNEL_STATE_RESERVED;
    case evtchn::PortState::Unbound: return smartvm::v1::EVENT_CHANNEL_STATE_UNBOUND;
    case evtchn::PortState::Interdomain: return smartvm::v1::EVENT_CHANNEL_STATE_INTERDOMAIN;
    case evtchn::PortState::Virq: return smartvm::v1::EVENT_CHANNEL_STATE_VIRQ;
    case evtchn::PortState::Ipi: return smartvm::v1::EVENT_CHANNEL_STATE_IPI;
  }
  return smartvm::v1::EVENT_CHANNEL_STATE_UNSPECIFIED;
}

void toProto(const evtchn::PortInfo& p, smartvm::v1::EventChannel& out) {
  out.set_port(p.port);
  out.set_state(toProto(p.state));
  out.set_notify_vcpu(p.vcpu);
  out.set_remote_domid(p.remoteDom);
  out.set_remote_port(p.remotePort);
  out.set_virq(p.virq);
  out.set_pending(p.pending);
  out.set_masked(p.masked);
}

/// The answer for a bound port; a dom0 port's two fds go with the frame.
pb::Response bound(Result<Dom0EventChannels::BoundPort> port, std::vector<UniqueFd>& fds) {
  if (!port) return failed(port.status());
  pb::Response r;
  auto* out = r.mutable_evtchn_bound();
  out->set_port(port->port);
  out->set_dom(port->dom);
  if (port->notify.valid() && port->doorbell.valid()) {
    out->set_has_fds(true);
    fds.push_back(std::move(port->notify));
    fds.push_back(std::move(port->doorbell));
    r.set_fd_count(2);
  }
  return r;
}

pb::Response done(const Status& s) { return s ? pb::Response() : failed(s); }

}  // namespace

pb::Response ControlServer::eventChannelOp(const pb::Request& req, Dom0PortOwner& owner, std::vector<UniqueFd>& fds) {
  Dom0EventChannels& dom0 = hv_.dom0EventChannels();
  const Dom0EventChannels::OwnerId id = owner.id();
  switch (req.op_case()) {
    case pb::Request::kEvtchnAllocUnbound: {
      const auto& op = req.evtchn_alloc_unbound();
      return bound(dom0.allocUnbound(id, op.dom(), op.remote_dom()), fds);
    }
    case pb::Request::kEvtchnBindInterdomain: {
      const auto& op = req.evtchn_bind_interdomain();
      return bound(dom0.bindInterdomain(id, op.remote_dom(), op.remote_port()), fds);
    }
    case pb::Request::kEvtchnBindVirq: return bound(dom0.bindVirq(id, req.evtchn_bind_virq().virq()), fds);
    case pb::Request::kEvtchnSend: return done(dom0.send(id, req.evtchn_send().port()));
    case pb::Request::kEvtchnClose: return done(dom0.close(id, req.evtchn_close().port()));
    case pb::Request::kEvtchnStatus: {
      auto info = dom0.status(req.evtchn_status().dom(), req.evtchn_status().port());
      if (!info) return failed(info.status());
      pb::Response r;
      toProto(*info, *r.mutable_evtchn_status());
      return r;
    }
    case pb::Request::kEvtchnList: {
      auto ports = dom0.listPorts(req.evtchn_list().dom());
      if (!ports) return failed(ports.status());
      pb::Response r;
      auto* out = r.mutable_evtchn_ports();
      out->set_dom(req.evtchn_list().dom() == DOMID_SELF ? 0 : req.evtchn_list().dom());
      for (const evtchn::PortInfo& p : *ports) toProto(p, *out->add_ports());
      return r;
    }
    default: return failed(error(EINVAL, "not an event channel operation"));
  }
}

pb::Response ControlServer::debugKeys(const pb::DebugKeys& keys) {
  const std::string& k = keys.keys();
  if (k.size() > kMaxDebugKeys) return failed(error(EINVAL, fmt::format("more than {} debug keys", kMaxDebugKeys)));
  // All or nothing: a typo must not run half of what was asked.
  for (char c : k) {
    if (c == 'q' || c == ' ') continue;
    const std::string shown = (c >= 0x20 && c < 0x7f) ? fmt::format("'{}'", c) : fmt::format("0x{:02x}", uint8_t(c));
    return failed(error(EINVAL, fmt::format("unknown debug key {} (supported: q)", shown)));
  }
  pb::Response r;
  std::string text;
  for (char c : k) {
    if (c == 'q') text += hv_.debugKeyDomains();
  }
  r.set_text(std::move(text));
  return r;
}

}  // namespace smartvm::hv
