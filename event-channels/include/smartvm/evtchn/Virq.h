#pragma once
// Which VIRQs are per-vCPU and which are global (Xen's virq_is_global).
#include "smartvm/evtchn/XenEvtchnAbi.h"

namespace smartvm::evtchn {

/// Number of VIRQ slots per vCPU (Xen's NR_VIRQS).
inline constexpr uint32_t kNrVirqs = NR_VIRQS;

/// True for VIRQs delivered once per domain (bound on vCPU 0, movable with
/// EVTCHNOP_bind_vcpu); false for per-vCPU ones (timer, debug, xenoprof,
/// xenpmu). x86's arch VIRQs (VIRQ_MCA = VIRQ_ARCH_0) are global, as in Xen.
constexpr bool isGlobalVirq(uint32_t virq) {
  switch (virq) {
    case VIRQ_TIMER:
    case VIRQ_DEBUG:
    case VIRQ_XENOPROF:
    case VIRQ_XENPMU:
      return false;
    default:
      return true;
  }
}

}  // namespace smartvm::evtchn
