#include "smartvm/dom0/smartvmd/VbdDomains.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "smartvm/dom0/config/DomainConfigRules.h"
#include "smartvm/dom0/config/XlDiskSpec.h"

namespace smartvm::dom0 {
namespace {

uint32_t devidOf(const v1::DiskSpec& disk) { return XlDiskSpec::deviceNumber(disk.vdev()).value(); }

}  // namespace

std::vector<v1::DiskSpec> VbdDomains::disksOf(const v1::DomainInfo& info) const {
  std::lock_guard lock(mu_);
  const auto it = hotplug_.find(info.domid());
  std::vector<v1::DiskSpec> out;
  for (const v1::DiskSpec& disk : info.config().disks()) {
    // A config disk that does not name a disk would not have passed DomainConfigRules; skip it rather than throw.
    const auto devid = XlDiskSpec::deviceNumber(disk.vdev());
    if (!devid.isOk()) continue;
    if (it != hotplug_.end()) {
      const Hotplug& h = it->second;
      if (h.detached.count(*devid) != 0) continue;
      if (std::any_of(h.attached.begin(), h.attached.end(),
                      [&](const v1::DiskSpec& d) { return devidOf(d) == *devid; })) {
        continue;
      }
    }
    out.push_back(disk);
  }
  if (it != hotplug_.end()) out.insert(out.end(), it->second.attached.begin(), it->second.attached.end());
  return out;
}

Status VbdDomains::attachDisks(const v1::DomainInfo& info, const std::vector<v1::DiskSpec>& disks) {
  Status first = Status::ok();
  for (const v1::DiskSpec& disk : disks) {
    Status s = vbd_.add(info.domid(), disk);
    if (s.isOk()) s = vbd_.waitForBackend(info.domid(), devidOf(disk), backendTimeout_);
    if (!s.isOk()) {
      spdlog::error("domain {} ({}): disk {}: {}", info.domid(), info.name(), XlDiskSpec::format(disk), s.message());
      if (first.isOk()) first = s;
    }
  }
  return first;
}

Status VbdDomains::attachAll(const v1::DomainInfo& info) { return attachDisks(info, disksOf(info)); }

Status VbdDomains::checkFree(const v1::DomainInfo& info, uint32_t devid, const v1::DiskSpec& disk) {
  SMARTVM_ASSIGN_OR_RETURN(const std::vector<VbdNodes::Disk> present, vbd_.list(info.domid()));
  for (const VbdNodes::Disk& d : present) {
    if (d.devid == devid) {
      return error(EEXIST, fmt::format("domain '{}' has {} attached already ({}): block-detach it first", info.name(),
                                       disk.vdev(), d.spec.target()));
    }
  }
  if (present.size() >= DomainConfigRules::kMaxDisks) {
    return error(ENOSPC, fmt::format("domain '{}' has {} disks already (at most {})", info.name(), present.size(),
                                     DomainConfigRules::kMaxDisks));
  }
  return Status::ok();
}

Result<VbdNodes::Disk> VbdDomains::attach(const v1::DomainInfo& info, const v1::DiskSpec& disk) {
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t devid, XlDiskSpec::deviceNumber(disk.vdev()));
  const uint32_t domid = info.domid();
  std::lock_guard changing(changing_);
  SMARTVM_TRY(checkFree(info, devid, disk));
  SMARTVM_TRY(vbd_.add(domid, disk));
  if (Status s = vbd_.waitForBackend(domid, devid, backendTimeout_); !s.isOk()) {
    // As libxl: a disk that did not come up is removed again, so the vdev is
    // free for the next try. The backend is done with it (refused) or absent:
    // no wait for it to close.
    if (Status r = vbd_.remove(domid, devid, std::chrono::milliseconds(0)); !r.isOk() && r.code() != ENOENT) {
      spdlog::warn("domain {}: removing the failed disk {}: {}", domid, disk.vdev(), r.message());
    }
    return s;
  }
  {
    std::lock_guard lock(mu_);
    Hotplug& h = hotplug_[domid];
    h.detached.erase(devid);
    h.attached.push_back(disk);
  }
  SMARTVM_ASSIGN_OR_RETURN(const std::vector<VbdNodes::Disk> after, vbd_.list(domid));
  for (const VbdNodes::Disk& d : after) {
    if (d.devid == devid) return d;
  }
  return error(ENOENT, fmt::format("disk {} of domain '{}' went away while attaching", disk.vdev(), info.name()));
}

Status VbdDomains::detach(uint32_t domid, uint32_t devid) {
  std::lock_guard changing(changing_);
  SMARTVM_TRY(vbd_.remove(domid, devid, backendTimeout_));
  std::lock_guard lock(mu_);
  Hotplug& h = hotplug_[domid];
  std::erase_if(h.attached, [&](const v1::DiskSpec& d) { return devidOf(d) == devid; });
  h.detached.insert(devid);
  return Status::ok();
}

void VbdDomains::forget(uint32_t domid) {
  std::lock_guard lock(mu_);
  hotplug_.erase(domid);
}

void VbdDomains::onCreated(const v1::DomainInfo& info) {
  std::lock_guard changing(changing_);
  forget(info.domid());  // a new domain: nothing of an earlier one with its domid applies
  (void)attachAll(info);
}

void VbdDomains::onRestarted(const v1::DomainInfo& info) {
  std::lock_guard changing(changing_);
  const std::vector<v1::DiskSpec> disks = disksOf(info);
  if (disks.empty()) return;
  if (Status s = vbd_.removeAll(info.domid()); !s.isOk()) {
    spdlog::warn("domain {}: detaching its disks for the restart: {}", info.domid(), s.message());
  }
  (void)attachDisks(info, disks);
}

void VbdDomains::onDestroyed(uint32_t domid) {
  std::lock_guard changing(changing_);
  forget(domid);
  if (Status s = vbd_.removeAll(domid); !s.isOk()) {
    spdlog::warn("domain {}: detaching its disks: {}", domid, s.message());
  }
}

}  // namespace smartvm::dom0
