#include "smartvm/dom0/cli/DiskListFormat.h"

#include <fmt/format.h>

#include <algorithm>

namespace smartvm::dom0 {
namespace {

/// xl's minimum width of BE-path.
constexpr size_t kXlPathWidth = 30;

}  // namespace

std::string formatDiskTable(const std::vector<v1::ListDisksResponse>& domains) {
  size_t pathWidth = kXlPathWidth;
  for (const v1::ListDisksResponse& dom : domains) {
    for (const v1::DiskInfo& d : dom.disks()) pathWidth = std::max(pathWidth, d.backend_path().size());
  }
  std::string out =
      fmt::format("{:<5} {:<3} {:<6} {:<5} {:<6} {:<8} {:<{}} {:<8} {:<5} {:<4} {:<6} {}\n", "Vdev", "BE", "handle",
                  "state", "evt-ch", "ring-ref", "BE-path", pathWidth, "BE-state", "Dev", "Mode", "Format", "Target");
  for (const v1::ListDisksResponse& dom : domains) {
    for (const v1::DiskInfo& d : dom.disks()) {
      out += fmt::format("{:<5} {:<3} {:<6} {:<5} {:<6} {:<8} {:<{}} {:<8} {:<5} {:<4} {:<6} {}", d.devid(), 0,
                         dom.domid(), d.frontend_state(), d.event_channel(), d.ring_ref(), d.backend_path(), pathWidth,
                         d.backend_state(), d.spec().vdev(), d.spec().read_only() ? "ro" : "rw", d.spec().format(),
                         d.spec().target());
      if (!d.error().empty()) out += fmt::format("  (refused: {})", d.error());
      out += '\n';
    }
  }
  return out;
}

}  // namespace smartvm::dom0
