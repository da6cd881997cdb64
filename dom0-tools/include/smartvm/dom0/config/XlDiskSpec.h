#pragma once
// One entry of xl's `disk = [...]` (docs/misc/xl-disk-configuration.txt):
// `key=value` parameters (target= last, since it takes the rest of the
// string), the positional form `target,format,vdev,access`, and the legacy
// `phy:/path,xvda,w` / `qcow2:/path,...` prefixes. Smart-VM serves raw and
// qcow2 images through qemu-storage-daemon (backendtype qdisk).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "smartvm/Result.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

class XlDiskSpec {
 public:
  /// Parses `spec`; a relative target is taken from `baseDir`. EINVAL with the
  /// problem named. Checks the syntax and values only: whether the image can
  /// be opened is the block backend's business when it attaches the disk.
  static Result<v1::DiskSpec> parse(std::string_view spec, const std::filesystem::path& baseDir);
  /// The xenstore device number of a vdev, as libxl computes it: xvdX is
  /// (202 << 8) | (disk << 4) for disks below 16, (1 << 28) | (disk << 8) above;
  /// hdX and sdX use their Linux majors (3/22 and 8). EINVAL for anything else.
  static Result<uint32_t> deviceNumber(std::string_view vdev);
  /// The spec written back in xl's key=value form (for `block-list` and logs).
  static std::string format(const v1::DiskSpec& disk);
};

}  // namespace smartvm::dom0
