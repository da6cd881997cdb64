#pragma once
// A modification that may fire watches: which node, how to match watches, and
// whose read permission decides who may hear about it.
#include <optional>
#include <string>

#include "smartvm/dom0/xenstore/XsPerms.h"

namespace smartvm::dom0::xenstore {

struct XsChange {
  std::string path;
  /// Exact changes only fire watches on the path itself (nodes inside a removed
  /// subtree); the others also fire watches on every ancestor (Xen's fire_watches).
  bool exact = false;
  XsPerms perms;
  /// SET_PERMS: the permissions before the change, so watchers who just lost
  /// read access still learn that something changed.
  std::optional<XsPerms> oldPerms;

  bool readableBy(uint32_t domid) const {
    return perms.allows(domid, kXsRead) || (oldPerms && oldPerms->allows(domid, kXsRead));
  }
};

}  // namespace smartvm::dom0::xenstore
