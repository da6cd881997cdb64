#pragma once
// Node names: validation with Xen's rules and resolution of relative paths
// against the caller's home, /local/domain/<domid>.
#include <cstdint>
#include <string>
#include <string_view>

#include "smartvm/Result.h"

namespace smartvm::dom0::xenstore {

/// A validated absolute name plus how long the prefix was that made it absolute
/// (watch events for relative watches give the path back relative).
struct XsName {
  std::string abs;
  size_t relativePrefix = 0;  ///< 0 for absolute and special names
};

class XsPath {
 public:
  /// "/local/domain/<domid>".
  static std::string domainPath(uint32_t domid);
  /// Resolves and validates `raw` for a caller in `domid`. Special names
  /// ("@releaseDomain") only when `allowSpecial`. EINVAL on bad characters,
  /// "//", a trailing "/", or a name longer than Xen's limits (the relative
  /// limit applies to unprivileged callers only, as Xen's path-length quota).
  static Result<XsName> resolve(uint32_t domid, std::string_view raw, bool allowSpecial);
  /// True when `child` is `parent` or below it (Xen's is_child).
  static bool isChildOrSelf(std::string_view child, std::string_view parent);
  /// "/a/b" -> "/a"; "/a" -> "/".
  static std::string parent(std::string_view path);
  /// "/a/b" -> "b".
  static std::string basename(std::string_view path);
  /// `parent` + "/" + `name`, without doubling the root's slash.
  static std::string join(std::string_view parent, std::string_view name);
};

}  // namespace smartvm::dom0::xenstore
