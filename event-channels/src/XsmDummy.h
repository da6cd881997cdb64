#pragma once
// Domain naming and the permission checks of Xen's default (dummy) XSM policy.
#include <cstdint>

#include "smartvm/evtchn/EventChannels.h"

namespace smartvm::evtchn {

/// DOMID_SELF names the caller (Xen's rcu_lock_domain_by_any_id).
inline uint16_t resolveDomid(uint16_t caller, domid_t dom) {
  return dom == DOMID_SELF ? caller : dom;
}

/// XSM_TARGET: a domain may act on itself; the control domain on anyone.
inline bool mayTarget(uint16_t caller, uint16_t target) {
  return caller == target || caller == EventChannels::kControlDomain;
}

}  // namespace smartvm::evtchn
