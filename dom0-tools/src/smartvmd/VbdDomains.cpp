#include "smartvm/dom0/smartvmd/VbdDomains.h"

#include <spdlog/spdlog.h>

#include "smartvm/dom0/config/XlDiskSpec.h"

namespace smartvm::dom0 {

Status VbdDomains::attachAll(const v1::DomainInfo& info) {
  Status first = Status::ok();
  for (const v1::DiskSpec& disk : info.config().disks()) {
    Status s = vbd_.add(info.domid(), disk);
    if (s.isOk()) s = vbd_.waitForBackend(info.domid(), XlDiskSpec::deviceNumber(disk.vdev()).value());
    if (!s.isOk()) {
      spdlog::error("domain {} ({}): disk {}: {}", info.domid(), info.name(), XlDiskSpec::format(disk), s.message());
      if (first.isOk()) first = s;
    }
  }
  return first;
}

void VbdDomains::onCreated(const v1::DomainInfo& info) { (void)attachAll(info); }

void VbdDomains::onRestarted(const v1::DomainInfo& info) {
  if (info.config().disks_size() == 0) return;
  if (Status s = vbd_.removeAll(info.domid()); !s.isOk()) {
    spdlog::warn("domain {}: detaching its disks for the restart: {}", info.domid(), s.message());
  }
  (void)attachAll(info);
}

void VbdDomains::onDestroyed(uint32_t domid) {
  if (Status s = vbd_.removeAll(domid); !s.isOk()) spdlog::warn("domain {}: detaching its disks: {}", domid, s.message());
}

}  // namespace smartvm::dom0
