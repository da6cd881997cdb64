#pragma once
// Domain 0 as an event channel peer. Dom0 is the host: its ports live in the
// machine's EventChannels with a HostPortAbi (eventfds instead of shared_info),
// and belong to owners (control connections) the way ports belong to an open
// /dev/xen/evtchn in a Xen dom0: an owner's ports are closed when it goes.
#include <cstdint>  // before Xen headers, which assume <stdint.h>

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/evtchn/EventChannels.h"
#include "smartvm/evtchn/HostPortAbi.h"
#include "smartvm/hv/DoorbellWatcher.h"

namespace smartvm::hv {

/// Every method is thread-safe. Values come from dom0 clients and are checked
/// like hypercall arguments: domids wider than 16 bits are EINVAL, then Xen's
/// own checks answer with Xen's errno. Messages say what was wrong.
class Dom0EventChannels {
 public:
  using OwnerId = uint64_t;

  /// A port handed to an owner. For dom0 ports, `notify` is the port's eventfd
  /// (see HostPortAbi) and `doorbell` an eventfd whose writes send on the port;
  /// both are the caller's. A guest port made by allocUnbound has neither.
  struct BoundPort {
    uint32_t port = 0;
    uint16_t dom = 0;
    UniqueFd notify;
    UniqueFd doorbell;
  };

  /// Registers domain 0 with `ec`, which must outlive this object.
  explicit Dom0EventChannels(evtchn::EventChannels& ec);
  /// Closes every owner's ports.
  ~Dom0EventChannels();
  Dom0EventChannels(const Dom0EventChannels&) = delete;
  Dom0EventChannels& operator=(const Dom0EventChannels&) = delete;

  /// A new owner id (never 0, never reused).
  [[nodiscard]] OwnerId openOwner();
  /// Closes every port `owner` bound and forgets it.
  void closeOwner(OwnerId owner);

  /// EVTCHNOP_alloc_unbound(dom, remote_dom) by dom0. dom 0 / DOMID_SELF makes
  /// a dom0 port owned by `owner`; another dom a port in that guest, unowned.
  [[nodiscard]] Result<BoundPort> allocUnbound(OwnerId owner, uint32_t dom, uint32_t remoteDom);
  /// EVTCHNOP_bind_interdomain by dom0; the new dom0 port starts pending (Xen).
  [[nodiscard]] Result<BoundPort> bindInterdomain(OwnerId owner, uint32_t remoteDom, uint32_t remotePort);
  /// EVTCHNOP_bind_virq by dom0 on vCPU 0.
  [[nodiscard]] Result<BoundPort> bindVirq(OwnerId owner, uint32_t virq);
  /// EVTCHNOP_send on a dom0 port `owner` bound.
  [[nodiscard]] Status send(OwnerId owner, uint32_t port);
  /// EVTCHNOP_close on a dom0 port `owner` bound.
  [[nodiscard]] Status close(OwnerId owner, uint32_t port);
  /// EVTCHNOP_status of any domain's port, with the pending and masked bits.
  [[nodiscard]] Result<evtchn::PortInfo> status(uint32_t dom, uint32_t port);
  /// Every non-free port of `dom`; ESRCH for a domain without event channels.
  [[nodiscard]] Result<std::vector<evtchn::PortInfo>> listPorts(uint32_t dom);

  /// A dom0 port smartvm-hv serves itself instead of a dom0 process (the guest
  /// console back end, as xenconsoled would): EVTCHNOP_bind_interdomain to
  /// `remotePort` of `remoteDom`, owned by no connection. Each notification
  /// clears the port's pending state and calls `onNotify` on the doorbell
  /// thread; onNotify may call sendInternal() but nothing else here. Xen marks
  /// a freshly bound port pending, so onNotify runs once soon after binding.
  [[nodiscard]] Result<uint32_t> bindInternal(uint32_t remoteDom, uint32_t remotePort, std::function<void()> onNotify);
  /// EVTCHNOP_send on a port bindInternal() made (any thread, onNotify too).
  [[nodiscard]] Status sendInternal(uint32_t port);
  /// Closes a port bindInternal() made. When it returns, no onNotify for it
  /// is running or will run. Not from onNotify.
  void closeInternal(uint32_t port);

  /// Ports `owner` holds now (for tests and logs).
  [[nodiscard]] size_t portCount(OwnerId owner) const;
  /// Client doorbells watched now (for tests); internal ports not counted.
  [[nodiscard]] size_t doorbellCount() const;

 private:
  struct Owned {
    uint64_t doorbellToken;
  };
  /// Gives a fresh dom0 port its fds and records it as `owner`'s; on failure
  /// the port is closed again so nothing leaks.
  Result<BoundPort> adoptLocked(OwnerId owner, uint32_t port);
  Status closeLocked(OwnerId owner, uint32_t port);
  Status notOwned(uint32_t port) const;

  evtchn::EventChannels& ec_;
  evtchn::HostPortAbi* abi_;  // owned by ec_, registered for its whole life
  DoorbellWatcher doorbells_;
  mutable std::mutex m_;  // the owners table; held across an op so ownership stays exact
  std::map<OwnerId, std::map<uint32_t, Owned>> owners_;
  // bindInternal()'s ports -> watch tokens. A mutex of its own: sendInternal()
  // runs on the doorbell thread while closeInternal() may wait for it.
  mutable std::mutex internalM_;
  std::map<uint32_t, uint64_t> internal_;
  OwnerId nextOwner_ = 1;
};

}  // namespace smartvm::hv
