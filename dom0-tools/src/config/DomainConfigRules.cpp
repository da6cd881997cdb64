#include "smartvm/dom0/config/DomainConfigRules.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "smartvm/dom0/config/XlDiskSpec.h"

namespace smartvm::dom0 {
namespace {

bool isNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

Status invalid(std::string message) { return error(EINVAL, std::move(message)); }

Status checkPath(const char* field, const std::string& path, bool required) {
  if (path.empty()) return required ? invalid(fmt::format("{}: a path is required", field)) : Status::ok();
  if (path.front() != '/') return invalid(fmt::format("{}: '{}' is not an absolute path", field, path));
  return Status::ok();
}

Status checkAction(const char* field, v1::LifecycleAction action) {
  if (!v1::LifecycleAction_IsValid(action)) {
    return invalid(fmt::format("{}: unknown lifecycle action {}", field, static_cast<int>(action)));
  }
  return Status::ok();
}

Status checkDisks(const v1::DomainConfig& config) {
  if (config.disks_size() > static_cast<int>(DomainConfigRules::kMaxDisks)) {
    return invalid(fmt::format("disks: {} disks (at most {})", config.disks_size(), DomainConfigRules::kMaxDisks));
  }
  std::set<uint32_t> devids;
  for (int i = 0; i < config.disks_size(); ++i) {
    const v1::DiskSpec& d = config.disks(i);
    const std::string field = fmt::format("disks[{}]", i);
    SMARTVM_TRY(DomainConfigRules::validateDisk(d, field));
    if (!devids.insert(XlDiskSpec::deviceNumber(d.vdev()).value()).second) {
      return invalid(fmt::format("{}.vdev: {} is used twice", field, d.vdev()));
    }
  }
  return Status::ok();
}

}  // namespace

std::optional<std::string> DomainConfigRules::nameProblem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > kMaxNameLength) {
    return fmt::format("the name is {} characters long (at most {})", name.size(), kMaxNameLength);
  }
  if (!std::all_of(name.begin(), name.end(), isNameChar)) {
    return fmt::format("'{}' is not a valid name (use A-Z a-z 0-9 _ . -)", name);
  }
  if (std::all_of(name.begin(), name.end(), isDigit)) {
    return fmt::format("'{}' is not a valid name: a name made only of digits would read as a domid", name);
  }
  return std::nullopt;
}

void DomainConfigRules::applyDefaults(v1::DomainConfig& config) {
  if (config.type() == v1::DOMAIN_TYPE_UNSPECIFIED) config.set_type(v1::DOMAIN_TYPE_PVH);
  if (config.memory_mib() == 0) config.set_memory_mib(kDefaultMemoryMib);
  if (config.vcpus() == 0) config.set_vcpus(kDefaultVcpus);
  if (config.on_poweroff() == v1::LIFECYCLE_ACTION_DEFAULT) config.set_on_poweroff(v1::LIFECYCLE_ACTION_DESTROY);
  if (config.on_reboot() == v1::LIFECYCLE_ACTION_DEFAULT) config.set_on_reboot(v1::LIFECYCLE_ACTION_RESTART);
  if (config.on_crash() == v1::LIFECYCLE_ACTION_DEFAULT) config.set_on_crash(v1::LIFECYCLE_ACTION_DESTROY);
}

Status DomainConfigRules::validateDisk(const v1::DiskSpec& disk, const std::string& field) {
  SMARTVM_TRY(checkPath((field + ".target").c_str(), disk.target(), true));
  if (disk.format() != "raw" && disk.format() != "qcow2") {
    return invalid(fmt::format("{}.format: '{}' is not raw or qcow2", field, disk.format()));
  }
  auto devid = XlDiskSpec::deviceNumber(disk.vdev());
  if (!devid.isOk()) return invalid(fmt::format("{}.vdev: {}", field, devid.status().message()));
  return Status::ok();
}

Status DomainConfigRules::validate(const v1::DomainConfig& config) {
  if (auto problem = nameProblem(config.name())) return invalid("name: " + *problem);
  if (config.type() != v1::DOMAIN_TYPE_PVH && config.type() != v1::DOMAIN_TYPE_UNSPECIFIED) {
    return invalid(fmt::format("type: unknown domain type {}", static_cast<int>(config.type())));
  }
  if (config.memory_mib() < kMinMemoryMib || config.memory_mib() > kMaxMemoryMib) {
    return invalid(
        fmt::format("memory: {} MiB is out of range ({}..{})", config.memory_mib(), kMinMemoryMib, kMaxMemoryMib));
  }
  if (config.vcpus() < kMinVcpus || config.vcpus() > kMaxVcpus) {
    return invalid(fmt::format("vcpus: {} is out of range ({}..{})", config.vcpus(), kMinVcpus, kMaxVcpus));
  }
  if (config.max_event_channels() > kMaxEventChannels) {
    return invalid(fmt::format("max_event_channels: {} is out of range ({}..{})", config.max_event_channels(),
                               kMinEventChannels, kMaxEventChannels));
  }
  if (config.max_grant_frames() > kMaxGrantFrames) {
    return invalid(fmt::format("max_grant_frames: {} is out of range ({}..{})", config.max_grant_frames(),
                               kMinGrantFrames, kMaxGrantFrames));
  }
  SMARTVM_TRY(checkPath("kernel", config.kernel(), true));
  SMARTVM_TRY(checkPath("ramdisk", config.ramdisk(), false));
  SMARTVM_TRY(checkDisks(config));
  SMARTVM_TRY(checkAction("on_poweroff", config.on_poweroff()));
  SMARTVM_TRY(checkAction("on_reboot", config.on_reboot()));
  return checkAction("on_crash", config.on_crash());
}

}  // namespace smartvm::dom0
