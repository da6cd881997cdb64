#pragma once
// A node's permission list in Xen's form: the first entry names the owner and
// the access of every domain not listed; later entries grant single domains.
#include <cstdint>
#include <string>
#include <vector>

#include "smartvm/Result.h"

namespace smartvm::dom0::xenstore {

/// Access bits, as Xen's XS_PERM_READ / XS_PERM_WRITE.
enum XsAccess : uint8_t { kXsNone = 0, kXsRead = 1, kXsWrite = 2, kXsBoth = 3 };

struct XsPermEntry {
  uint32_t domid = 0;
  uint8_t access = kXsNone;
  bool operator==(const XsPermEntry&) const = default;
};

class XsPerms {
 public:
  /// Owner dom0, nobody else may read or write ("n0"): the root's and the special nodes' default.
  XsPerms() : entries_{{0, kXsNone}} {}
  explicit XsPerms(std::vector<XsPermEntry> entries) : entries_(std::move(entries)) {}

  /// Parses "n0", "r5", "w3", "b7"... EINVAL for an empty list or a malformed entry.
  static Result<XsPerms> parse(const std::vector<std::string>& strings);
  std::vector<std::string> toStrings() const;

  uint32_t owner() const { return entries_.front().domid; }
  void setOwner(uint32_t domid) { entries_.front().domid = domid; }
  /// What `domid` may do: dom0 and the owner may do everything, as in Xen's perm_for_conn.
  uint8_t accessFor(uint32_t domid) const;
  bool allows(uint32_t domid, uint8_t wanted) const { return (accessFor(domid) & wanted) == wanted; }
  bool operator==(const XsPerms&) const = default;

 private:
  std::vector<XsPermEntry> entries_;  // never empty
};

}  // namespace smartvm::dom0::xenstore
