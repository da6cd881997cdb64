#pragma once
// The machine's event channels: every domain's ports and Xen's EVTCHNOP_*
// semantics (xen/common/event_channel.c), independent of KVM.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "smartvm/Status.h"
#include "smartvm/evtchn/PortAbi.h"
#include "smartvm/evtchn/PortInfo.h"
#include "smartvm/evtchn/XenEvtchnAbi.h"

namespace smartvm::evtchn {

class PortTable;

/// All domains' event channel state.
///
/// Thread-safe through one mutex. Interdomain operations touch two domains'
/// tables, and one lock makes them atomic without a lock order; each critical
/// section is a few bit operations, far below the cost of the VM exit that
/// brought the hypercall here. Notifications are delivered after the lock is
/// released, so the Notify callback may call back into this object.
///
/// Op methods take the calling domain and the guest's struct, write the OUT
/// fields and return 0 or -errno exactly as Xen's do_event_channel_op would.
/// Domain 0 is the privileged control domain.
class EventChannels {
 public:
  /// Called when vCPU `vcpu` of `domid` needs an event channel upcall (its
  /// evtchn_upcall_pending went 0 -> 1). The callee injects the interrupt.
  using Notify = std::function<void(uint16_t domid, uint32_t vcpu)>;

  /// Default port limit of a domain (the 2-level ABI's 4096).
  static constexpr uint32_t kDefaultMaxPorts = EVTCHN_2L_NR_CHANNELS;
  /// The privileged control domain.
  static constexpr uint16_t kControlDomain = 0;

  explicit EventChannels(Notify notify);
  ~EventChannels();
  EventChannels(const EventChannels&) = delete;
  EventChannels& operator=(const EventChannels&) = delete;

  /// Registers a domain with port 0 Reserved and the others Free.
  /// `maxPorts` is clamped to the ABI's limit. EEXIST if known, EINVAL for a
  /// reserved domid, a null ABI or maxPorts 0.
  Status addDomain(uint16_t domid, std::unique_ptr<PortAbi> abi,
                   uint32_t maxPorts = kDefaultMaxPorts);
  /// Closes all of a domain's ports and forgets it. Peers' interdomain ports
  /// become Unbound, bindable again by `domid` (Xen's evtchn_destroy). The
  /// dying domain's own shared_info is not touched.
  void removeDomain(uint16_t domid);
  /// Whether `domid` is registered.
  [[nodiscard]] bool hasDomain(uint16_t domid) const;

  /// EVTCHNOP_alloc_unbound. `op.dom` other than the caller needs privilege.
  [[nodiscard]] int64_t allocUnbound(uint16_t caller, evtchn_alloc_unbound& op);
  /// EVTCHNOP_bind_interdomain to a port offered to the caller.
  [[nodiscard]] int64_t bindInterdomain(uint16_t caller, evtchn_bind_interdomain& op);
  /// EVTCHNOP_bind_virq; the caller has `nrVcpus` vCPUs.
  [[nodiscard]] int64_t bindVirq(uint16_t caller, evtchn_bind_virq& op, uint32_t nrVcpus);
  /// EVTCHNOP_bind_ipi; the caller has `nrVcpus` vCPUs.
  [[nodiscard]] int64_t bindIpi(uint16_t caller, evtchn_bind_ipi& op, uint32_t nrVcpus);
  /// EVTCHNOP_close.
  [[nodiscard]] int64_t close(uint16_t caller, evtchn_close& op);
  /// EVTCHNOP_send.
  [[nodiscard]] int64_t send(uint16_t caller, evtchn_send& op);
  /// EVTCHNOP_status. Another domain's port needs privilege.
  [[nodiscard]] int64_t status(uint16_t caller, evtchn_status& op);
  /// EVTCHNOP_bind_vcpu; the caller has `nrVcpus` vCPUs.
  [[nodiscard]] int64_t bindVcpu(uint16_t caller, evtchn_bind_vcpu& op, uint32_t nrVcpus);
  /// EVTCHNOP_unmask.
  [[nodiscard]] int64_t unmask(uint16_t caller, evtchn_unmask& op);
  /// EVTCHNOP_reset: closes every port of `op.dom` (another domain needs privilege).
  [[nodiscard]] int64_t reset(uint16_t caller, evtchn_reset& op);

  /// Sends `virq` to `domid` (Xen's send_guest_vcpu_virq / send_guest_global_virq):
  /// `vcpu` picks the per-vCPU binding and is ignored for global VIRQs.
  /// No-op when nothing is bound.
  void raiseVirq(uint16_t domid, uint32_t virq, uint32_t vcpu);
  /// Every non-free port of `domid`, in port order; empty for unknown domains.
  [[nodiscard]] std::vector<PortInfo> listPorts(uint16_t domid) const;
  /// 1 if `port` is pending, 0 if not, -ESRCH / -EINVAL for unknown domain / port.
  [[nodiscard]] int64_t pollPending(uint16_t domid, uint32_t port) const;

 private:
  struct Upcall {
    uint16_t domid;
    uint32_t vcpu;
  };
  using Upcalls = std::vector<Upcall>;

  PortTable* find(uint16_t domid) const;
  void setPending(PortTable& d, uint32_t port, uint32_t vcpu, Upcalls& out);
  int64_t closePort(PortTable& d, uint32_t port);
  void deliver(const Upcalls& upcalls) const;

  Notify notify_;
  mutable std::mutex mutex_;
  std::map<uint16_t, std::unique_ptr<PortTable>> domains_;
};

}  // namespace smartvm::evtchn
