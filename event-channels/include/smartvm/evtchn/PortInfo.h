#pragma once
// One port as seen by debug listings (`listPorts`).
#include <cstdint>

#include "smartvm/evtchn/PortState.h"

namespace smartvm::evtchn {

/// A snapshot of one non-free port. Fields that do not apply to the state
/// are zero.
struct PortInfo {
  uint32_t port = 0;
  PortState state = PortState::Free;
  /// The vCPU notified when the port fires.
  uint32_t vcpu = 0;
  /// Unbound: the domain allowed to bind; Interdomain: the peer.
  uint16_t remoteDom = 0;
  /// Interdomain: the peer's port.
  uint32_t remotePort = 0;
  /// Virq: the VIRQ_* number.
  uint32_t virq = 0;
  bool pending = false;
  bool masked = false;
};

}  // namespace smartvm::evtchn
