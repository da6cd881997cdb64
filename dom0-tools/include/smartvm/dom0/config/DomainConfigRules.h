#pragma once
// The limits and defaults every DomainConfig obeys, shared by the xl config
// parser (which reports problems with file and line) and smartvmd (which
// checks configs arriving over the API).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smartvm/Status.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

struct DomainConfigRules {
  static constexpr uint64_t kDefaultMemoryMib = 128;
  static constexpr uint64_t kMinMemoryMib = 1;
  static constexpr uint64_t kMaxMemoryMib = 1048576;
  static constexpr uint32_t kDefaultVcpus = 1;
  static constexpr uint32_t kMinVcpus = 1;
  static constexpr uint32_t kMaxVcpus = 128;
  /// xl's max_event_channels; the 2-level ABI's 4096 ports is the most.
  static constexpr uint32_t kMinEventChannels = 1;
  static constexpr uint32_t kMaxEventChannels = 4096;
  /// xl's max_grant_frames; Xen's gnttab_max_frames default (64) is the most.
  static constexpr uint32_t kMinGrantFrames = 1;
  static constexpr uint32_t kMaxGrantFrames = 64;
  static constexpr size_t kMaxNameLength = 64;
  /// PV disks per domain (one blkback connection each).
  static constexpr uint32_t kMaxDisks = 16;

  /// Why `name` is not a valid domain name, or nullopt when it is:
  /// 1 to 64 of [A-Za-z0-9_.-], and not only digits (that would read as a domid).
  static std::optional<std::string> nameProblem(std::string_view name);

  /// Fills unset fields with the defaults: PVH, 128 MiB, 1 vCPU, xl's lifecycle actions
  /// (destroy on poweroff and crash, restart on reboot).
  static void applyDefaults(v1::DomainConfig& config);

  /// Checks a whole config as it arrives over the API (after applyDefaults); EINVAL names the field.
  static Status validate(const v1::DomainConfig& config);

  /// Checks one disk (absolute target, raw or qcow2, a known vdev), as `validate`
  /// does each of a config's and AttachDisk its one; EINVAL names `field` ("disks[0]").
  static Status validateDisk(const v1::DiskSpec& disk, const std::string& field);
};

}  // namespace smartvm::dom0
