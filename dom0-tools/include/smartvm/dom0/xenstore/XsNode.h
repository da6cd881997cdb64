#pragma once
// One node of the xenstore tree.
#include <cstdint>
#include <set>
#include <string>

#include "smartvm/dom0/xenstore/XsPerms.h"

namespace smartvm::dom0::xenstore {

struct XsNode {
  std::string value;
  XsPerms perms;
  std::set<std::string> children;  ///< names, sorted so DIRECTORY replies are stable
  /// Stamp of the last change; transactions compare it to detect conflicts (0 = never existed).
  uint64_t generation = 0;
};

}  // namespace smartvm::dom0::xenstore
