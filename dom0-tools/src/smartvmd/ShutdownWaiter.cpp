#include "smartvm/dom0/smartvmd/ShutdownWaiter.h"

#include <fmt/format.h>

#include "smartvm/dom0/smartvmd/ToolstackCore.h"

namespace smartvm::dom0 {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

bool ShutdownWaiter::done(const v1::DomainInfo& now, bool reboot) const {
  switch (now.state()) {
    case v1::DOMAIN_STATE_SHUTDOWN:
    case v1::DOMAIN_STATE_CRASHED:
    case v1::DOMAIN_STATE_DYING: return true;
    default:
      // A guest restarted in place (on_reboot=restart) is done rebooting once its restart count moves.
      return reboot && now.restarts() > before_.restarts();
  }
}

Result<v1::DomainInfo> ShutdownWaiter::current() const {
  control::v1::Request request;
  request.mutable_get()->set_domid(before_.domid());
  SMARTVM_ASSIGN_OR_RETURN(control::v1::Response response, hv_.call(request));
  if (!response.has_domain()) return error(EPROTO, "smartvm-hv answered get without the domain");
  return std::move(*response.mutable_domain());
}

v1::DomainInfo ShutdownWaiter::gone(bool reboot) const {
  v1::DomainInfo info = before_;
  info.set_state(v1::DOMAIN_STATE_SHUTDOWN);
  info.set_shutdown_reason(reboot ? v1::SHUTDOWN_REASON_REBOOT : v1::SHUTDOWN_REASON_POWEROFF);
  return info;
}

Result<v1::DomainInfo> ShutdownWaiter::wait(bool reboot, std::chrono::seconds timeout,
                                            const CancelledFn& cancelled) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (cancelled()) return error(ECANCELED, fmt::format("gave up waiting for domain '{}': caller went away", ref_));
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining <= milliseconds(0)) {
      return error(ETIMEDOUT, fmt::format("domain '{}' did not {} within {} s", ref_, reboot ? "reboot" : "shut down",
                                          timeout.count()));
    }
    // smartvm-hv's `wait` ends on a shutdown, not on a restart in place that
    // is over already (a quick guest reboots before the first wait): for a
    // reboot, the restart count is looked at first, every slice.
    if (reboot) {
      auto now = current();
      if (!now.isOk()) {
        if (isNoSuchDomain(now.status())) return gone(reboot);
        return now.status();
      }
      if (done(*now, reboot)) return std::move(*now);
    }
    const milliseconds slice = std::min(remaining, kSlice);
    control::v1::Request request;
    request.mutable_wait()->set_domid(before_.domid());
    request.mutable_wait()->set_timeout_ms(static_cast<uint32_t>(slice.count()));
    const auto sent = Clock::now();
    auto response = hv_.call(request);
    if (!response.isOk()) {
      if (isNoSuchDomain(response.status())) return gone(reboot);
      const int code = response.status().code();
      if (code != ETIMEDOUT && code != EAGAIN) return response.status();
      paceEarlyAnswer(sent, slice);
      continue;
    }
    if (response->has_domain() && done(response->domain(), reboot)) return response->domain();
    paceEarlyAnswer(sent, slice);
  }
}

}  // namespace smartvm::dom0
