#pragma once
// A transaction's private view of the tree: the nodes it changed, and the
// generation of every node it looked at, checked again when it commits
// (optimistic concurrency, as C xenstored's accessed-node list).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "smartvm/dom0/xenstore/XsChange.h"
#include "smartvm/dom0/xenstore/XsNode.h"

namespace smartvm::dom0::xenstore {

class XsTransaction {
 public:
  XsTransaction(uint32_t id, uint64_t connId) : id_(id), connId_(connId) {}

  uint32_t id() const { return id_; }
  uint64_t connId() const { return connId_; }

  /// Final state of each changed node; nullopt = removed.
  std::map<std::string, std::optional<XsNode>>& changed() { return changed_; }
  /// Generation seen on first access to each path (0 = it did not exist).
  std::map<std::string, uint64_t>& accessed() { return accessed_; }
  /// Watch events held back until the commit.
  std::vector<XsChange>& pendingChanges() { return pending_; }
  /// Nodes gained (or lost) per owner inside the transaction, for the node quota.
  std::map<uint32_t, long>& nodeDelta() { return nodeDelta_; }

 private:
  uint32_t id_;
  uint64_t connId_;
  std::map<std::string, std::optional<XsNode>> changed_;
  std::map<std::string, uint64_t> accessed_;
  std::vector<XsChange> pending_;
  std::map<uint32_t, long> nodeDelta_;
};

}  // namespace smartvm::dom0::xenstore
