#include "smartvm/dom0/xenstore/XsDomainAttacher.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>

namespace smartvm::dom0::xenstore {
namespace {

/// Takes what is pending on a port's notify eventfd without blocking (the fd
/// may be a blocking one: a spurious poll wake-up must not stall the daemon).
void drain(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return;
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(fd, &count, sizeof count);
}

/// Notifies the guest through the port's doorbell, without a request to smartvm-hv.
void ringDoorbell(int doorbell) {
  const uint64_t one = 1;
  if (::write(doorbell, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) {
    spdlog::debug("xenstored: doorbell write failed: {}", std::strerror(errno));
  }
}

}  // namespace

XsDomainAttacher::XsDomainAttacher(XsServerCore& core, XsSocketServer& loop, XsGuestAccess& hv)
    : core_(core), loop_(loop), hv_(hv) {
  core_.setDomainHooks({[this](uint32_t domid, uint64_t mfn, uint32_t port) { return introduce(domid, mfn, port); },
                        [this](uint32_t domid) { release(domid); }});
}

XsDomainAttacher::~XsDomainAttacher() {
  core_.setDomainHooks({});
  for (auto& [domid, guest] : guests_) disconnect(domid, guest);
  const std::optional<uint32_t> domExcPort = domExc_ ? std::optional(domExc_->port) : std::nullopt;
  unwatchHypervisor();
  if (domExcPort) hv_.closePort(*domExcPort);
}

void XsDomainAttacher::unwatchHypervisor() {
  if (hvFd_ >= 0) loop_.unwatchFd(hvFd_);
  hvFd_ = -1;
  if (domExc_) loop_.unwatchFd(domExc_->notify.get());
  domExc_.reset();
}

Status XsDomainAttacher::bindDomExc() {
  if (domExc_) return Status::ok();
  auto port = hv_.bindDomExc();
  if (!port) {
    spdlog::warn("xenstored: cannot bind VIRQ_DOM_EXC ({}); dead domains are noticed only on RELEASE",
                 port.status().toString());
    return port.status();
  }
  domExc_ = std::move(*port);
  loop_.watchFd(domExc_->notify.get(), [this] { onDomainException(); });
  // The same connection carries every port and mapping: when it hangs up,
  // smartvm-hv and all its domains are gone.
  hvFd_ = hv_.hypervisorFd();
  if (hvFd_ >= 0) loop_.watchFd(hvFd_, [this] { onHypervisorGone(); });
  spdlog::info("xenstored: VIRQ_DOM_EXC bound to dom0 port {}", domExc_->port);
  return Status::ok();
}

void XsDomainAttacher::onHypervisorGone() {
  if (!hv_.hypervisorHungUp()) return;
  spdlog::warn("xenstored: smartvm-hv went away; releasing the {} domains that went with it",
               core_.introducedDomains().size());
  unwatchHypervisor();  // its VIRQ_DOM_EXC port went too: never closed through the next one
  hvGone_ = true;
  for (const uint32_t domid : core_.introducedDomains()) (void)core_.releaseDomain(domid);
  hvGone_ = false;
  hv_.hypervisorGone();
}

Status XsDomainAttacher::introduce(uint32_t domid, uint64_t mfn, uint32_t port) {
  // As C xenstored: the ring is found through the grant table, not the mfn the toolstack sent.
  auto ring = hv_.mapRing(domid);
  if (!ring) {
    spdlog::error("xenstored: INTRODUCE dom{} (mfn {:#x}, port {}) failed: cannot map its xenstore ring: {}", domid,
                  mfn, port, ring.status().toString());
    return ring.status();
  }
  // smartvm-hv is reachable now: if it was not when xenstored started, deaths are watched from here on.
  (void)bindDomExc();
  auto local = hv_.bindInterdomain(domid, port);
  if (!local) {
    spdlog::error("xenstored: INTRODUCE dom{} failed: cannot bind its store event channel {}: {}", domid, port,
                  local.status().toString());
    hv_.unmapRing(domid, *ring);
    return local.status();
  }
  Guest& g = guests_[domid];
  g.ring = *ring;
  g.port = std::move(*local);
  const int doorbell = g.port.doorbell.get();
  g.conn = std::make_unique<XsRingConnection>(core_, domid, g.ring.page, [doorbell] { ringDoorbell(doorbell); });
  loop_.watchFd(g.port.notify.get(), [this, domid] { onGuestEvent(domid); });
  spdlog::info("xenstored: dom{} introduced: ring mapped, guest port {} bound to dom0 port {}", domid, port,
               g.port.port);
  // Not served here, inside the INTRODUCE request: a new interdomain binding
  // starts pending, so the loop's next round reads what the guest wrote before.
  return Status::ok();
}

void XsDomainAttacher::onGuestEvent(uint32_t domid) {
  auto it = guests_.find(domid);
  if (it == guests_.end() || !it->second.conn) return;
  Guest& g = it->second;
  drain(g.port.notify.get());
  g.conn->onGuestNotify();
  const XsConnection* conn = core_.connection(g.conn->connectionId());
  if (g.conn->broken() || conn == nullptr || conn->closed()) {
    spdlog::warn("xenstored: dom{} broke the xenstore protocol on its ring; disconnected (other clients unaffected)",
                 domid);
    disconnect(domid, g);
  }
}

void XsDomainAttacher::disconnect(uint32_t domid, Guest& g) {
  if (!g.conn) return;
  loop_.unwatchFd(g.port.notify.get());
  g.conn.reset();  // before the page goes: the connection writes into it
  if (hvGone_) {
    // Port and grant handle belonged to the smartvm-hv that went away; the
    // next one may have handed the same numbers to someone else.
    hv_.forgetRing(g.ring);
  } else {
    hv_.closePort(g.port.port);
    hv_.unmapRing(domid, g.ring);
  }
  g.port = XsEventPort{};
  g.ring = XsRingPage{};
}

void XsDomainAttacher::release(uint32_t domid) {
  auto it = guests_.find(domid);
  if (it == guests_.end()) return;
  disconnect(domid, it->second);
  guests_.erase(it);
  spdlog::info("xenstored: dom{} released", domid);
}

void XsDomainAttacher::onDomainException() {
  if (domExc_) drain(domExc_->notify.get());
  auto states = hv_.domainStates();
  if (!states) {
    spdlog::warn("xenstored: VIRQ_DOM_EXC: cannot ask smartvm-hv which domains are gone: {}",
                 states.status().toString());
    return;
  }
  bool shutdownNews = false;
  for (const uint32_t domid : core_.introducedDomains()) {
    const auto st = states->find(domid);
    if (st == states->end() || st->second == XsDomainState::Dying) {
      spdlog::info("xenstored: dom{} is gone; releasing it", domid);
      (void)core_.releaseDomain(domid);
      continue;
    }
    auto g = guests_.find(domid);
    if (g == guests_.end()) continue;
    const bool down = st->second == XsDomainState::ShutDown;
    if (down && !g->second.shutDown) shutdownNews = true;
    g->second.shutDown = down;  // a domain restarted in place may shut down again later
  }
  // C xenstored fires @releaseDomain when a domain shuts down, not only when it goes.
  if (shutdownNews) core_.fireSpecialWatch("@releaseDomain");
}

bool XsDomainAttacher::attached(uint32_t domid) const {
  auto it = guests_.find(domid);
  return it != guests_.end() && it->second.conn != nullptr;
}

std::optional<uint64_t> XsDomainAttacher::connectionId(uint32_t domid) const {
  auto it = guests_.find(domid);
  if (it == guests_.end() || !it->second.conn) return std::nullopt;
  return it->second.conn->connectionId();
}

}  // namespace smartvm::dom0::xenstore
