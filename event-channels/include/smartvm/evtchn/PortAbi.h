#pragma once
// The pluggable port ABI (Xen's struct evtchn_port_ops): how "pending" and
// "masked" are represented in guest memory and when a vCPU needs an upcall.
#include <cstdint>

namespace smartvm::evtchn {

/// One domain's event-word layout. Called with the machine's event channel
/// lock held; implementations must not call back into EventChannels.
class PortAbi {
 public:
  virtual ~PortAbi() = default;

  /// Ports this ABI can represent (EVTCHN_2L_NR_CHANNELS for 2-level).
  [[nodiscard]] virtual uint32_t maxPorts() const = 0;
  /// Marks `port` pending for delivery to `vcpu`. True when the vCPU must be
  /// sent an upcall (its evtchn_upcall_pending went 0 -> 1).
  [[nodiscard]] virtual bool setPending(uint32_t port, uint32_t vcpu) = 0;
  /// Clears `port`'s pending bit (done when a port is closed).
  virtual void clearPending(uint32_t port) = 0;
  /// Unmasks `port`, whose notify vCPU is `vcpu`. True when an upcall must be
  /// raised because a pending event became deliverable.
  [[nodiscard]] virtual bool unmask(uint32_t port, uint32_t vcpu) = 0;
  /// Whether `port` is pending in guest memory.
  [[nodiscard]] virtual bool isPending(uint32_t port) const = 0;
  /// Whether `port` is masked in guest memory.
  [[nodiscard]] virtual bool isMasked(uint32_t port) const = 0;
  /// Returns ABI-private state to its initial value after EVTCHNOP_reset.
  virtual void reset() = 0;
  /// `port` went back to Free (after clearPending). ABIs that keep per-binding
  /// resources (HostPortAbi's eventfds) drop them here, so a port number handed
  /// out again starts afresh.
  virtual void portFreed(uint32_t /*port*/) {}
};

}  // namespace smartvm::evtchn
