#pragma once
// The state of one event channel port (Xen's ECS_* values, without PIRQ).
#include <cstdint>

namespace smartvm::evtchn {

/// Lifecycle of a port. Free -> {Unbound, Virq, Ipi}; Unbound -> Interdomain
/// when a peer binds; Interdomain -> Unbound when the peer closes or dies;
/// any bound state -> Free on close. Port 0 is Reserved for the domain's life.
enum class PortState : uint8_t { Free, Reserved, Unbound, Interdomain, Virq, Ipi };

/// Lower-case name for listings ("interdomain").
constexpr const char* toString(PortState s) {
  switch (s) {
    case PortState::Free: return "free";
    case PortState::Reserved: return "reserved";
    case PortState::Unbound: return "unbound";
    case PortState::Interdomain: return "interdomain";
    case PortState::Virq: return "virq";
    case PortState::Ipi: return "ipi";
  }
  return "?";
}

}  // namespace smartvm::evtchn
