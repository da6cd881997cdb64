#include "smartvm/dom0/xenstore/XsHvGuestAccess.h"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>

// Xen's headers use the C fixed-width names unqualified.
#include <stdint.h>
#include <xen/xen.h>

namespace smartvm::dom0::xenstore {

Status XsHvGuestAccess::connect() {
  if (!grants_ || !grants_->connected()) {
    auto g = GrantClient::connect(path_);
    // EIO on the wire: ENOENT or ECONNREFUSED would read as something about the guest.
    if (!g) return error(EIO, g.status().message());
    grants_.emplace(std::move(*g));
  }
  if (!evtchn_ || !evtchn_->connected()) {
    auto e = EventChannelClient::connect(path_);
    if (!e) return error(EIO, e.status().message());
    evtchn_.emplace(std::move(*e));
  }
  return Status::ok();
}

void XsHvGuestAccess::dropIfGone(const Status& s) {
  const int c = s.code();
  if (c != ENOTCONN && c != ECONNRESET && c != EPIPE && c != ECONNREFUSED) return;
  // smartvm-hv restarted: its guests and our ports and mappings went with it.
  grants_.reset();
  evtchn_.reset();
}

Result<XsRingPage> XsHvGuestAccess::mapRing(uint32_t domid) {
  SMARTVM_TRY(connect());
  auto m = grants_->map(domid, GNTTAB_RESERVED_XENSTORE, false);
  if (!m) {
    dropIfGone(m.status());
    return error(m.status().code(), "grant ref " + std::to_string(GNTTAB_RESERVED_XENSTORE) + ": " +
                                        m.status().message());
  }
  return XsRingPage{m->page, m->handle};
}

void XsHvGuestAccess::unmapRing(uint32_t domid, const XsRingPage& ring) {
  if (!grants_ || ring.page == nullptr) return;
  if (Status s = grants_->unmap({ring.page, ring.handle, domid}); !s.isOk()) {
    spdlog::warn("xenstored: unmapping dom{}'s ring: {}", domid, s.toString());
  }
}

XsEventPort XsHvGuestAccess::portOf(EventChannelClient::Port p) {
  return XsEventPort{p.port, std::move(p.notify), std::move(p.doorbell)};
}

Result<XsEventPort> XsHvGuestAccess::bindInterdomain(uint32_t domid, uint32_t remotePort) {
  SMARTVM_TRY(connect());
  auto p = evtchn_->bindInterdomain(domid, remotePort);
  if (!p) {
    dropIfGone(p.status());
    return p.status();
  }
  return portOf(std::move(*p));
}

void XsHvGuestAccess::closePort(uint32_t port) {
  if (!evtchn_) return;
  if (Status s = evtchn_->close(port); !s.isOk()) spdlog::debug("xenstored: closing port {}: {}", port, s.toString());
}

Result<XsEventPort> XsHvGuestAccess::bindDomExc() {
  SMARTVM_TRY(connect());
  auto p = evtchn_->bindVirq(VIRQ_DOM_EXC);
  if (!p) {
    dropIfGone(p.status());
    return p.status();
  }
  return portOf(std::move(*p));
}

int XsHvGuestAccess::hypervisorFd() const { return evtchn_ ? evtchn_->socketFd() : -1; }

bool XsHvGuestAccess::hypervisorHungUp() const {
  const int fd = hypervisorFd();
  if (fd < 0) return true;
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void XsHvGuestAccess::hypervisorGone() {
  grants_.reset();
  evtchn_.reset();
}

void XsHvGuestAccess::forgetRing(const XsRingPage& ring) {
  if (ring.page != nullptr) ::munmap(ring.page, GrantClient::kPageSize);
}

Result<std::map<uint32_t, XsDomainState>> XsHvGuestAccess::domainStates() {
  control::v1::Request request;
  request.mutable_list();
  SMARTVM_ASSIGN_OR_RETURN(control::v1::Response response, control_.call(std::move(request)));
  std::map<uint32_t, XsDomainState> out;
  for (const v1::DomainInfo& d : response.domains().domains()) {
    switch (d.state()) {
      case v1::DOMAIN_STATE_DYING: out[d.domid()] = XsDomainState::Dying; break;
      case v1::DOMAIN_STATE_SHUTDOWN:
      case v1::DOMAIN_STATE_CRASHED: out[d.domid()] = XsDomainState::ShutDown; break;
      default: out[d.domid()] = XsDomainState::Running; break;
    }
  }
  return out;
}

}  // namespace smartvm::dom0::xenstore
