#pragma once
// The xenstore tree with Xen's semantics: permissions, implicit parents,
// per-domain quotas and transactions. No I/O and no watches: every change is
// reported as an XsChange for the caller to fire once it is visible.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/dom0/xenstore/XsChange.h"
#include "smartvm/dom0/xenstore/XsNode.h"
#include "smartvm/dom0/xenstore/XsQuota.h"
#include "smartvm/dom0/xenstore/XsTransaction.h"

namespace smartvm::dom0::xenstore {

/// Who asks: the connection's domain, the connection, and the request's tx_id (0 = none).
struct XsCaller {
  uint32_t domid = 0;
  uint64_t connId = 0;
  uint32_t txId = 0;
  bool privileged() const { return domid == 0; }
};

class XenstoreDb {
 public:
  explicit XenstoreDb(XsQuota quota = {});

  Result<std::string> read(const XsCaller& c, std::string_view path);
  /// Creates missing parents, which inherit their parent's permissions.
  [[nodiscard]] Status write(const XsCaller& c, std::string_view path, std::string_view value);
  /// Like write with an empty value, but leaves an existing node alone.
  [[nodiscard]] Status mkdir(const XsCaller& c, std::string_view path);
  /// Removes the subtree. Removing a missing node whose parent exists succeeds, as in Xen.
  [[nodiscard]] Status rm(const XsCaller& c, std::string_view path);
  Result<std::vector<std::string>> directory(const XsCaller& c, std::string_view path);
  /// The node's change stamp; DIRECTORY_PART hands it out so clients can tell
  /// whether the node changed between two partial listings.
  Result<uint64_t> generationOf(const XsCaller& c, std::string_view path);
  Result<std::vector<std::string>> getPerms(const XsCaller& c, std::string_view path);
  [[nodiscard]] Status setPerms(const XsCaller& c, std::string_view path, const std::vector<std::string>& perms);

  /// Opens a transaction for a connection; ENOSPC past the quota.
  Result<uint32_t> startTransaction(const XsCaller& c);
  /// Commits (EAGAIN on conflict, the transaction is gone either way) or aborts.
  [[nodiscard]] Status endTransaction(const XsCaller& c, bool commit);
  /// Aborts every transaction of a connection that went away.
  void dropTransactions(uint64_t connId);
  size_t transactionCount(uint64_t connId) const;

  /// Changes now visible to everyone (direct writes and commits) since the last call.
  std::vector<XsChange> takeChanges();
  /// Permissions of "@introduceDomain" / "@releaseDomain" (default "n0").
  XsPerms specialPerms(const std::string& name) const;
  size_t nodesOwnedBy(uint32_t domid) const;
  const XsQuota& quota() const { return quota_; }

 private:
  Result<XsTransaction*> transactionFor(const XsCaller& c);
  const XsNode* find(XsTransaction* tx, const std::string& path);
  void put(XsTransaction* tx, const std::string& path, XsNode node);
  void erase(XsTransaction* tx, const std::string& path);
  long ownedCount(XsTransaction* tx, uint32_t domid) const;
  void record(XsTransaction* tx, XsChange change);
  /// ENOENT or EACCES for a missing node, depending on what its nearest ancestor lets the caller see.
  Status missingError(XsTransaction* tx, const XsCaller& c, const std::string& path, uint8_t want);
  Result<const XsNode*> lookup(XsTransaction* tx, const XsCaller& c, const std::string& path, uint8_t want);
  Result<bool> createPath(XsTransaction* tx, const XsCaller& c, const std::string& path);
  void removeSubtree(XsTransaction* tx, const std::string& path);
  Status commit(XsTransaction& tx);

  XsQuota quota_;
  std::map<std::string, XsNode> nodes_;
  std::map<uint32_t, long> owned_;
  std::map<std::string, XsPerms> special_;
  std::map<uint32_t, std::unique_ptr<XsTransaction>> transactions_;
  std::vector<XsChange> changes_;
  uint64_t generation_ = 1;
  uint32_t nextTxId_ = 1;
};

}  // namespace smartvm::dom0::xenstore
