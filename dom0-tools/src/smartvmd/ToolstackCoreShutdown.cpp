// ToolstackCore::shutdown: xl shutdown / xl reboot. A guest with PV control is
// asked through xenstore control/shutdown (PvControl, as libxl_domain_shutdown
// and libxl_domain_reboot do); smartvm-hv shuts a domain down by itself only
// when forced (xl's -F fallback, there the ACPI power button).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "smartvm/dom0/smartvmd/ShutdownWaiter.h"
#include "smartvm/dom0/smartvmd/ToolstackCore.h"

namespace smartvm::dom0 {
namespace {

using Clock = std::chrono::steady_clock;
using control::v1::Request;
using control::v1::Response;

bool isLive(const v1::DomainInfo& d) {
  return d.state() == v1::DOMAIN_STATE_RUNNING || d.state() == v1::DOMAIN_STATE_BLOCKED ||
         d.state() == v1::DOMAIN_STATE_PAUSED;
}

/// True once the domain no longer needs to acknowledge: shut down, crashed, dying, restarted or gone.
bool settledSince(const v1::DomainInfo& before, const v1::DomainInfo& now) {
  return !isLive(now) || now.restarts() > before.restarts();
}

}  // namespace

Result<PvControl::Plan> ToolstackCore::shutdownPlan(const v1::DomainInfo& before, const std::string& ref,
                                                     bool reboot, bool force) const {
  // A domain already shut down is smartvm-hv's to answer (it says ok), as is everything without xenstore.
  if (pvControl_ == nullptr || !isLive(before)) return PvControl::Plan::Hypervisor;
  const auto cmd = reboot ? PvControl::Command::Reboot : PvControl::Command::Poweroff;
  auto available = pvControl_->available(before.domid(), cmd);
  const PvControl::Plan plan = PvControl::plan(true, available.isOk() && *available, force);
  if (plan != PvControl::Plan::Refuse) return plan;
  const std::string why = available.isOk()
                              ? fmt::format("its guest has not set control/feature-{} to 1", PvControl::word(cmd))
                              : fmt::format("xenstore cannot be asked: {}", available.status().message());
  return error(EOPNOTSUPP, fmt::format("PV control interface not available for domain '{}' ({}): a graceful {} is "
                                       "not possible; use -F to force it, or destroy it",
                                       ref, why, reboot ? "reboot" : "shutdown"));
}

Result<v1::DomainInfo> ToolstackCore::shutdown(const v1::ShutdownRequest& request, const CancelledFn& cancelled) const {
  const std::string& ref = request.domain().id();
  SMARTVM_ASSIGN_OR_RETURN(const v1::DomainInfo before, get(ref));
  const uint32_t timeoutS = request.wait_timeout_s() != 0 ? request.wait_timeout_s() : kDefaultShutdownTimeoutS;
  const auto deadline = Clock::now() + std::chrono::seconds(timeoutS);
  SMARTVM_ASSIGN_OR_RETURN(const PvControl::Plan plan,
                           shutdownPlan(before, ref, request.reboot(), request.force()));
  std::optional<v1::DomainInfo> answered;
  if (plan == PvControl::Plan::AskGuest) {
    const auto cmd = request.reboot() ? PvControl::Command::Reboot : PvControl::Command::Poweroff;
    // A paused guest cannot acknowledge: the request waits in xenstore until
    // it is unpaused (libxl writes the node and returns the same way), rather
    // than this call timing out on an acknowledgement that cannot come.
    const bool paused = before.state() == v1::DOMAIN_STATE_PAUSED;
    spdlog::info("asking domain '{}' (id {}) to {} through xenstore control/shutdown{}", ref, before.domid(),
                 PvControl::word(cmd), paused ? " (paused: it sees the request once unpaused)" : "");
    const PvControl::Settled settled = [&]() -> Result<bool> {
      if (paused) return true;
      if (cancelled()) return error(ECANCELED, fmt::format("gave up waiting for domain '{}': caller went away", ref));
      auto now = getById(before.domid(), ref);
      if (!now.isOk()) return isNoSuchDomain(now.status()) ? Result<bool>(true) : Result<bool>(now.status());
      return settledSince(before, *now);
    };
    SMARTVM_TRY(pvControl_->request(before.domid(), cmd, deadline, settled));
  } else {
    Request control;
    auto* op = control.mutable_shutdown();
    op->set_domid(before.domid());
    op->set_reason(request.reboot() ? v1::SHUTDOWN_REASON_REBOOT : v1::SHUTDOWN_REASON_POWEROFF);
    op->set_force(request.force());
    SMARTVM_ASSIGN_OR_RETURN(Response response, callOnDomain(std::move(control), ref));
    if (response.has_domain()) answered = std::move(*response.mutable_domain());
  }
  if (!request.wait()) {
    if (answered) return std::move(*answered);
    auto now = getById(before.domid(), ref);
    // A guest that acknowledged may be gone already (on_poweroff = "destroy").
    if (!now.isOk() && isNoSuchDomain(now.status()) && plan == PvControl::Plan::AskGuest) return before;
    return now;
  }
  // What is left of the request's timeout after the acknowledgement, at least a second.
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
  return ShutdownWaiter(hv_, before, ref).wait(request.reboot(), std::max(left, std::chrono::seconds(1)), cancelled);
}

}  // namespace smartvm::dom0
