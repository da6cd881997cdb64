#pragma once
// ShutdownDomain's wait: polls control `wait` until the guest has shut down,
// restarted (reboot) or gone, the timeout passes, or the caller goes away.
// A reboot also looks at the restart count (`get`) each slice: `wait` does
// not end for a restart in place that happened before it was asked.
#include <chrono>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/dom0/smartvmd/ControlClient.h"
#include "smartvm/dom0/smartvmd/PollLoop.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

class ShutdownWaiter {
 public:
  /// Longest single control `wait`, so cancellation and the deadline are noticed.
  static constexpr std::chrono::milliseconds kSlice{1000};

  /// Waits for the domain described by `before` (its info before the shutdown
  /// request), named `ref` by the caller.
  ShutdownWaiter(const ControlClient& hv, v1::DomainInfo before, std::string ref)
      : hv_(hv), before_(std::move(before)), ref_(std::move(ref)) {}

  /// The domain's info once it is done; for a domain that is gone, its last
  /// known info with state SHUTDOWN and the requested reason. ETIMEDOUT after
  /// `timeout`, ECANCELED when `cancelled` says so.
  Result<v1::DomainInfo> wait(bool reboot, std::chrono::seconds timeout, const CancelledFn& cancelled) const;

 private:
  bool done(const v1::DomainInfo& now, bool reboot) const;
  [[nodiscard]] Result<v1::DomainInfo> current() const;
  v1::DomainInfo gone(bool reboot) const;

  const ControlClient& hv_;
  v1::DomainInfo before_;
  std::string ref_;
};

}  // namespace smartvm::dom0
