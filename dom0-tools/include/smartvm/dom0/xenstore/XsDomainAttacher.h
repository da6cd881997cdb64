#pragma once
// INTRODUCE and RELEASE made real, as Xen's xenstored does them: map the
// guest's ring page, bind its store event channel, put the port's eventfd in
// the daemon's poll loop and serve the ring (XsRingConnection); undo it all on
// RELEASE, on the domain's death (VIRQ_DOM_EXC) or when the guest breaks its ring.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "smartvm/Status.h"
#include "smartvm/dom0/xenstore/XsGuestAccess.h"
#include "smartvm/dom0/xenstore/XsRingConnection.h"
#include "smartvm/dom0/xenstore/XsServerCore.h"
#include "smartvm/dom0/xenstore/XsSocketServer.h"

namespace smartvm::dom0::xenstore {

class XsDomainAttacher {
 public:
  /// Installs itself as `core`'s domain hooks; `loop` polls the guests' ports.
  XsDomainAttacher(XsServerCore& core, XsSocketServer& loop, XsGuestAccess& hv);
  ~XsDomainAttacher();
  XsDomainAttacher(const XsDomainAttacher&) = delete;
  XsDomainAttacher& operator=(const XsDomainAttacher&) = delete;

  /// Binds VIRQ_DOM_EXC if it is not yet; a failure (smartvm-hv not up) is
  /// logged and retried on the next INTRODUCE.
  [[nodiscard]] Status bindDomExc();
  /// VIRQ_DOM_EXC fired: releases introduced domains that are gone or dying,
  /// fires @releaseDomain for those that newly shut down (C xenstored's domain_cleanup).
  void onDomainException();
  /// smartvm-hv's connection hung up: it went away, and every introduced
  /// domain with it. They are released (@releaseDomain fires) without asking
  /// the hypervisor to close or unmap anything of theirs; the next INTRODUCE
  /// connects to the new smartvm-hv and binds VIRQ_DOM_EXC there. Without
  /// this, a new domain that reuses an old domid would find it "introduced"
  /// already and never have its ring served.
  void onHypervisorGone();

  /// True while `domid`'s ring is served (not after RELEASE or a broken ring).
  bool attached(uint32_t domid) const;
  /// The core connection id of `domid`'s ring, if attached.
  std::optional<uint64_t> connectionId(uint32_t domid) const;

 private:
  struct Guest {
    XsRingPage ring;
    XsEventPort port;
    std::unique_ptr<XsRingConnection> conn;
    bool shutDown = false;  // @releaseDomain already fired for its shutdown
  };

  Status introduce(uint32_t domid, uint64_t mfn, uint32_t port);
  void release(uint32_t domid);
  void onGuestEvent(uint32_t domid);
  /// Stops serving the ring and gives page and port back; the domain stays introduced.
  void disconnect(uint32_t domid, Guest& guest);
  /// Stops watching the hypervisor's connection and VIRQ_DOM_EXC's port.
  void unwatchHypervisor();

  XsServerCore& core_;
  XsSocketServer& loop_;
  XsGuestAccess& hv_;
  std::map<uint32_t, Guest> guests_;
  std::optional<XsEventPort> domExc_;
  int hvFd_ = -1;           // the hypervisor connection watched for a hang-up
  bool hvGone_ = false;     // releasing what went with it: nothing is handed back
};

}  // namespace smartvm::dom0::xenstore
