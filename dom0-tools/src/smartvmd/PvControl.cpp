#include "smartvm/dom0/smartvmd/PvControl.h"

#include <fmt/format.h>

#include <algorithm>

#include "smartvm/dom0/xenstore/XenstoreClient.h"

namespace smartvm::dom0 {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using xenstore::XenstoreClient;

constexpr char kToken[] = "smartvmd-pvcontrol";

}  // namespace

PvControl::Plan PvControl::plan(bool xenstoreConfigured, bool pvAvailable, bool force) {
  if (!xenstoreConfigured) return Plan::Hypervisor;
  // libxl asks the guest whenever it can, -F or not; xl falls back to the
  // power button only on ERROR_NOPARAVIRT.
  if (pvAvailable) return Plan::AskGuest;
  return force ? Plan::Force : Plan::Refuse;
}

const char* PvControl::word(Command cmd) { return cmd == Command::Reboot ? "reboot" : "poweroff"; }

std::string PvControl::shutdownPath(uint32_t domid) { return fmt::format("/local/domain/{}/control/shutdown", domid); }

std::string PvControl::featurePath(uint32_t domid, Command cmd) {
  return fmt::format("/local/domain/{}/control/feature-{}", domid, word(cmd));
}

Result<bool> PvControl::available(uint32_t domid, Command cmd) const {
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, XenstoreClient::connect(socket_));
  auto value = xs.read(featurePath(domid, cmd));
  if (!value.isOk()) {
    if (value.status().code() == ENOENT) return false;
    return value.status();
  }
  return *value == "1";
}

Status PvControl::request(uint32_t domid, Command cmd, Clock::time_point deadline, const Settled& settled) const {
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, XenstoreClient::connect(socket_));
  const std::string path = shutdownPath(domid);
  // Watch before writing: the guest may clear the node before a later watch
  // would be set. The watch's first event (Xen fires one on registration) only
  // makes the loop look once more.
  SMARTVM_TRY(xs.watch(path, kToken));
  SMARTVM_TRY(xs.write(path, word(cmd)));
  for (;;) {
    auto value = xs.read(path);
    if (!value.isOk()) {
      // The node went with the domain (destroyed, or restarted with fresh nodes): nothing left to acknowledge.
      if (value.status().code() == ENOENT) return Status::ok();
      return value.status();
    }
    if (value->empty()) return Status::ok();  // libxl's pvcontrol_acked
    SMARTVM_ASSIGN_OR_RETURN(const bool done, settled());
    if (done) return Status::ok();
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining <= milliseconds(0)) {
      return error(ETIMEDOUT, fmt::format("the guest of domain {} did not acknowledge the {} request in {} (still "
                                          "'{}')",
                                          domid, word(cmd), path, *value));
    }
    auto event = xs.waitEvent(std::min(remaining, milliseconds(kAckSlice)));
    if (!event.isOk() && event.status().code() != ETIMEDOUT) return event.status();
  }
}

}  // namespace smartvm::dom0
