#pragma once
// One domain's ports: the channel array, its VIRQ bindings and its port ABI.
// Not thread-safe; EventChannels serialises all access.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "smartvm/evtchn/PortAbi.h"
#include "smartvm/evtchn/PortState.h"
#include "smartvm/evtchn/Virq.h"

namespace smartvm::evtchn {

/// One port (Xen's struct evtchn, without PIRQ and FIFO fields).
struct Channel {
  PortState state = PortState::Free;
  uint32_t notifyVcpu = 0;
  uint16_t remoteDom = 0;    // Unbound: who may bind; Interdomain: the peer
  uint32_t remotePort = 0;   // Interdomain only
  uint32_t virq = 0;         // Virq only
};

class PortTable {
 public:
  /// Ports are handed out in buckets of this many, as Xen does with
  /// EVTCHNS_PER_BUCKET (64 on x86-64): only ports inside handed-out buckets
  /// are "valid" (Xen's port_is_valid), which decides EINVAL versus "closed".
  static constexpr uint32_t kPortsPerBucket = 64;

  /// `maxPorts` is already clamped to the ABI's limit and is at least 1.
  PortTable(uint16_t domid, std::unique_ptr<PortAbi> abi, uint32_t maxPorts);

  uint16_t domid() const { return domid_; }
  PortAbi& abi() { return *abi_; }
  const PortAbi& abi() const { return *abi_; }
  /// Number of valid ports (Xen's valid_evtchns).
  uint32_t validPorts() const { return static_cast<uint32_t>(channels_.size()); }
  /// Xen's port_is_valid.
  bool isValid(uint32_t port) const { return port < channels_.size(); }
  /// The channel at a valid port.
  Channel& at(uint32_t port) { return channels_[port]; }
  const Channel& at(uint32_t port) const { return channels_[port]; }

  /// Lowest free port below maxPorts, growing the table by a bucket when all
  /// valid ports are taken (Xen's get_free_port). The port stays Free until
  /// the caller sets its state.
  std::optional<uint32_t> findFreePort();
  /// Returns `port` to Free (Xen's evtchn_free): clears its pending bit,
  /// forgets its binding and its notify vCPU.
  void freePort(uint32_t port);

  /// The port bound to `virq` in `vcpu`'s table, 0 if none.
  uint32_t virqPort(uint32_t vcpu, uint32_t virq) const;
  /// Records (or, with 0, forgets) `vcpu`'s binding of `virq`.
  void setVirqPort(uint32_t vcpu, uint32_t virq, uint32_t port);
  /// Forgets every vCPU's binding of `virq` to `port` (closing a VIRQ port).
  void forgetVirqPort(uint32_t virq, uint32_t port);

 private:
  uint16_t domid_;
  std::unique_ptr<PortAbi> abi_;
  uint32_t maxPorts_;
  std::vector<Channel> channels_;
  std::vector<std::array<uint32_t, kNrVirqs>> virqToPort_;  // indexed by vCPU
};

}  // namespace smartvm::evtchn
