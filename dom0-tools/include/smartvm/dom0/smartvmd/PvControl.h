#pragma once
// Asking a guest to power off or reboot itself through xenstore, as libxl's
// libxl__domain_pvcontrol does for `xl shutdown` / `xl reboot`: write
// "poweroff" or "reboot" to /local/domain/<id>/control/shutdown, which the
// guest's xenbus driver watches (Linux's drivers/xen/manage.c); the guest
// acknowledges by clearing the node, then shuts itself down with
// SCHEDOP_shutdown and the matching reason.
//
// Whether a guest listens: libxl__domain_pvcontrol_available asks Xen for
// HVM_PARAM_CALLBACK_IRQ (set = PV drivers loaded). That only proves an event
// channel upcall, not a control/shutdown watch (Linux PVH even sets the param
// to a dummy GSI just to satisfy this check), and smartvm-hv does not export
// HVM params to dom0. smartvmd instead reads the guest's own announcement,
// control/feature-poweroff / control/feature-reboot = "1", which Linux's
// setup_shutdown_watcher writes for every command it honours (a 2022 libxl
// patch, "libxl: check control/feature-* before issuing pvcontrol command",
// checks them too, for guests such as MirageOS). A guest without it has no PV
// control: graceful shutdown is refused unless forced (-F), as xl does.
//
// Each call opens its own xenstored connection (calls come from gRPC threads).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "smartvm/Result.h"

namespace smartvm::dom0 {

class PvControl {
 public:
  enum class Command { Poweroff, Reboot };

  /// What the toolstack does with a shutdown request (pure; ToolstackCore acts on it).
  enum class Plan {
    Hypervisor,  // no xenstore configured: smartvm-hv decides (it refuses unless forced)
    AskGuest,    // write control/shutdown and wait for the guest (also with -F, as libxl)
    Force,       // no PV control, -F: smartvm-hv shuts the domain down at once
    Refuse,      // no PV control, no -F: EOPNOTSUPP, suggesting -F
  };
  static Plan plan(bool xenstoreConfigured, bool pvAvailable, bool force);

  /// The word written to control/shutdown: "poweroff" or "reboot".
  static const char* word(Command cmd);
  static std::string shutdownPath(uint32_t domid);
  static std::string featurePath(uint32_t domid, Command cmd);

  /// How often the acknowledgement wait looks at `settled` when no watch event comes.
  static constexpr std::chrono::milliseconds kAckSlice{250};

  explicit PvControl(std::string xenstoredSocket) : socket_(std::move(xenstoredSocket)) {}

  /// True when the guest announced it honours `cmd` (control/feature-<word> is "1");
  /// false when the node is missing or anything else. Fails (ECONNREFUSED, ...)
  /// only when xenstored cannot be asked.
  Result<bool> available(uint32_t domid, Command cmd) const;

  /// Writes `cmd` to control/shutdown and waits until the guest acknowledges it
  /// (clears the node, or the node goes with the domain), `settled` answers true
  /// (the domain shut down without clearing it) or fails (the caller went away),
  /// or `deadline` passes: ETIMEDOUT, "did not acknowledge", as libxl reports.
  using Settled = std::function<Result<bool>()>;
  [[nodiscard]] Status request(uint32_t domid, Command cmd, std::chrono::steady_clock::time_point deadline,
                               const Settled& settled) const;

 private:
  std::string socket_;
};

}  // namespace smartvm::dom0
