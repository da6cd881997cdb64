// ToolstackCore's PV disk calls (xl block-attach, block-detach, block-list):
// the domain is looked up in smartvm-hv, the vbds are VbdDomains' work.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "smartvm/dom0/config/XlDiskSpec.h"
#include "smartvm/dom0/smartvmd/ToolstackCore.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"

namespace smartvm::dom0 {
namespace {

v1::DiskInfo toDiskInfo(const VbdNodes::Disk& d) {
  v1::DiskInfo out;
  *out.mutable_spec() = d.spec;
  out.set_devid(d.devid);
  out.set_backend_state(d.backendState);
  out.set_frontend_state(d.frontendState);
  out.set_event_channel(d.eventChannel);
  out.set_ring_ref(d.ringRef);
  out.set_backend_path(d.backendPath);
  out.set_error(d.error);
  return out;
}

/// A DetachDiskRequest's vdev: a disk name or its xenstore device number, both of which xl block-detach takes.
Result<uint32_t> deviceOf(const std::string& vdev) {
  if (vdev.empty()) return error(EINVAL, "no disk given (a vdev such as xvdb, or its device number)");
  if (std::all_of(vdev.begin(), vdev.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    uint32_t devid = 0;
    const auto [end, ec] = std::from_chars(vdev.data(), vdev.data() + vdev.size(), devid);
    if (ec != std::errc() || end != vdev.data() + vdev.size()) {
      return error(EINVAL, fmt::format("'{}' is not a device number", vdev));
    }
    return devid;
  }
  return XlDiskSpec::deviceNumber(vdev);
}

}  // namespace

Result<VbdDomains*> ToolstackCore::vbds() const {
  if (disks_ != nullptr) return disks_;
  return error(EOPNOTSUPP,
               "PV disks are not available: smartvmd runs without smartvm-xenstored (--xenstored-socket \"\"); "
               "restart it with --xenstored-socket PATH");
}

void ToolstackCore::withCurrentDisks(v1::DomainInfo& info) const {
  if (disks_ == nullptr || !info.has_config()) return;
  std::vector<v1::DiskSpec> current = disks_->disksOf(info);
  auto* disks = info.mutable_config()->mutable_disks();
  disks->Clear();
  for (v1::DiskSpec& d : current) *disks->Add() = std::move(d);
}

Result<v1::DiskInfo> ToolstackCore::attachDisk(const v1::AttachDiskRequest& request) const {
  SMARTVM_ASSIGN_OR_RETURN(VbdDomains* const disks, vbds());
  SMARTVM_ASSIGN_OR_RETURN(const v1::DomainInfo info, get(request.domain().id()));
  if (info.domid() == 0) return error(EINVAL, "Domain-0 takes no PV disks: attach them to a guest");
  SMARTVM_ASSIGN_OR_RETURN(const VbdNodes::Disk disk, disks->attach(info, request.disk()));
  return toDiskInfo(disk);
}

Status ToolstackCore::detachDisk(const v1::DetachDiskRequest& request) const {
  SMARTVM_ASSIGN_OR_RETURN(VbdDomains* const disks, vbds());
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t devid, deviceOf(request.vdev()));
  const std::string& ref = request.domain().id();
  SMARTVM_ASSIGN_OR_RETURN(const v1::DomainInfo info, get(ref));
  const Status s = disks->detach(info.domid(), devid);
  if (s.code() == ENOENT) return error(ENOENT, fmt::format("domain '{}' has no disk {}", ref, request.vdev()));
  return s;
}

Result<v1::ListDisksResponse> ToolstackCore::listDisks(const std::string& ref) const {
  SMARTVM_ASSIGN_OR_RETURN(VbdDomains* const disks, vbds());
  SMARTVM_ASSIGN_OR_RETURN(const v1::DomainInfo info, get(ref));
  SMARTVM_ASSIGN_OR_RETURN(const std::vector<VbdNodes::Disk> listed, disks->list(info.domid()));
  v1::ListDisksResponse out;
  out.set_domid(info.domid());
  for (const VbdNodes::Disk& d : listed) *out.add_disks() = toDiskInfo(d);
  return out;
}

}  // namespace smartvm::dom0
