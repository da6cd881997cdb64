#pragma once
// What the toolstack does around a domain's life besides asking smartvm-hv:
// xenstore nodes (XenstoreDomains), later device backends. ToolstackCore calls
// the hooks on create and destroy; DomainMonitor on restarts in place and on
// domains that went without a destroy call (on_poweroff = "destroy").
// Hooks never fail a call: they log what went wrong, as xl carries on when
// an optional daemon is missing.
#include <cstdint>

#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

class DomainHooks {
 public:
  virtual ~DomainHooks() = default;
  /// A domain was created (running, or paused with -p); `info` as smartvm-hv answered.
  virtual void onCreated(const v1::DomainInfo& info) = 0;
  /// The domain restarted in place: same domid, new rings (store_gfn/port may differ).
  virtual void onRestarted(const v1::DomainInfo& info) = 0;
  /// The domain was destroyed or is gone. May come twice for one domain
  /// (destroy, then the monitor noticing): hooks must not mind.
  virtual void onDestroyed(uint32_t domid) = 0;
};

}  // namespace smartvm::dom0
