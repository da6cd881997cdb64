#pragma once
// What xenstored needs from the hypervisor to serve a guest: its ring page and
// its event channel, and who is still alive. An interface so that the attach
// logic (XsDomainAttacher) runs in tests on a heap page and plain eventfds;
// XsHvGuestAccess is the real one, over smartvm-hv's control socket.
#include <cstdint>
#include <map>

#include "smartvm/Result.h"
#include "smartvm/UniqueFd.h"

namespace smartvm::dom0::xenstore {

/// A guest's xenstore ring page mapped into this process.
struct XsRingPage {
  void* page = nullptr;
  uint32_t handle = 0;  ///< what unmapRing needs back
};

/// A dom0 port, as EventChannelClient hands them out: `notify` is an eventfd
/// whose counter is the pending state, writing to `doorbell` notifies the peer.
struct XsEventPort {
  uint32_t port = 0;
  UniqueFd notify;
  UniqueFd doorbell;
};

/// Only what xenstored's domain bookkeeping needs to know of a domain's state.
enum class XsDomainState { Running, ShutDown, Dying };

class XsGuestAccess {
 public:
  virtual ~XsGuestAccess() = default;
  /// Maps `domid`'s xenstore ring read-write through its grant entry
  /// GNTTAB_RESERVED_XENSTORE, as Xen's xenstored does.
  [[nodiscard]] virtual Result<XsRingPage> mapRing(uint32_t domid) = 0;
  virtual void unmapRing(uint32_t domid, const XsRingPage& ring) = 0;
  /// Binds a dom0 port to the guest's store port (unbound, offered to dom0).
  [[nodiscard]] virtual Result<XsEventPort> bindInterdomain(uint32_t domid, uint32_t remotePort) = 0;
  virtual void closePort(uint32_t port) = 0;
  /// Binds VIRQ_DOM_EXC: it fires when a domain shuts down, crashes or dies.
  [[nodiscard]] virtual Result<XsEventPort> bindDomExc() = 0;
  /// Every domain the hypervisor knows of; a domid not in the map is gone.
  [[nodiscard]] virtual Result<std::map<uint32_t, XsDomainState>> domainStates() = 0;

  /// A descriptor that turns readable when the hypervisor went away (its
  /// connection hung up), or -1 while there is none.
  [[nodiscard]] virtual int hypervisorFd() const = 0;
  /// Whether the hypervisor connection really hung up (not a spurious wake).
  [[nodiscard]] virtual bool hypervisorHungUp() const = 0;
  /// Drops the connection to a hypervisor that went away: the next call
  /// connects afresh. Every domain, mapping and port of it went with it.
  virtual void hypervisorGone() = 0;
  /// Lets go of a ring page of a hypervisor that went away, without asking
  /// anyone: its grant handle means nothing to the next hypervisor.
  virtual void forgetRing(const XsRingPage& ring) = 0;
};

}  // namespace smartvm::dom0::xenstore
