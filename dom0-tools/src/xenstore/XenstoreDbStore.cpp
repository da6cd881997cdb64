// XenstoreDb's node store: lookups and updates that go either to the tree or
// to a transaction's overlay, with node accounting for the quota.
#include "smartvm/dom0/xenstore/XenstoreDb.h"
#include "smartvm/dom0/xenstore/XsPath.h"

namespace smartvm::dom0::xenstore {

const XsNode* XenstoreDb::find(XsTransaction* tx, const std::string& path) {
  if (tx != nullptr) {
    auto ch = tx->changed().find(path);
    if (ch != tx->changed().end()) return ch->second ? &*ch->second : nullptr;
  }
  auto it = nodes_.find(path);
  const XsNode* node = it == nodes_.end() ? nullptr : &it->second;
  // Only the first look counts: that is the state the transaction built on.
  if (tx != nullptr) tx->accessed().emplace(path, node != nullptr ? node->generation : 0);
  return node;
}

void XenstoreDb::put(XsTransaction* tx, const std::string& path, XsNode node) {
  const XsNode* old = find(tx, path);
  auto& counts = tx != nullptr ? tx->nodeDelta() : owned_;
  if (old != nullptr) --counts[old->perms.owner()];
  ++counts[node.perms.owner()];
  if (tx != nullptr) {
    tx->changed()[path] = std::move(node);
    return;
  }
  node.generation = generation_++;
  nodes_[path] = std::move(node);
}

void XenstoreDb::erase(XsTransaction* tx, const std::string& path) {
  const XsNode* old = find(tx, path);
  if (old == nullptr) return;
  auto& counts = tx != nullptr ? tx->nodeDelta() : owned_;
  --counts[old->perms.owner()];
  if (tx != nullptr) {
    tx->changed()[path] = std::nullopt;
  } else {
    nodes_.erase(path);
  }
}

long XenstoreDb::ownedCount(XsTransaction* tx, uint32_t domid) const {
  long n = 0;
  if (auto it = owned_.find(domid); it != owned_.end()) n += it->second;
  if (tx != nullptr) {
    if (auto it = tx->nodeDelta().find(domid); it != tx->nodeDelta().end()) n += it->second;
  }
  return n;
}

void XenstoreDb::record(XsTransaction* tx, XsChange change) {
  (tx != nullptr ? tx->pendingChanges() : changes_).push_back(std::move(change));
}

Status XenstoreDb::missingError(XsTransaction* tx, const XsCaller& c, const std::string& path, uint8_t) {
  // Xen's errno_from_parents: a caller who cannot read the nearest existing
  // ancestor must not learn whether the node exists.
  std::string p = XsPath::parent(path);
  const XsNode* anc = find(tx, p);
  while (anc == nullptr) {
    p = XsPath::parent(p);
    anc = find(tx, p);
  }
  if (!anc->perms.allows(c.domid, kXsRead)) return error(EACCES, "no access to " + path);
  return error(ENOENT, path + " does not exist");
}

Result<const XsNode*> XenstoreDb::lookup(XsTransaction* tx, const XsCaller& c, const std::string& path, uint8_t want) {
  const XsNode* node = find(tx, path);
  if (node == nullptr) return missingError(tx, c, path, want);
  if (!node->perms.allows(c.domid, want)) return error(EACCES, "no access to " + path);
  return node;
}

Result<bool> XenstoreDb::createPath(XsTransaction* tx, const XsCaller& c, const std::string& path) {
  if (const XsNode* node = find(tx, path)) {
    if (!node->perms.allows(c.domid, kXsWrite)) return error(EACCES, "no write access to " + path);
    return false;
  }
  std::vector<std::string> missing;
  std::string p = path;
  const XsNode* anc = nullptr;
  while ((anc = find(tx, p)) == nullptr) {
    missing.push_back(p);
    p = XsPath::parent(p);
  }
  if (!anc->perms.allows(c.domid, kXsWrite)) return error(EACCES, "no write access to " + p);
  if (!c.privileged() &&
      ownedCount(tx, c.domid) + static_cast<long>(missing.size()) > static_cast<long>(quota_.nodesPerDomain)) {
    return error(ENOSPC, "node quota of domain " + std::to_string(c.domid) + " exceeded");
  }
  XsPerms perms = anc->perms;
  // Inherit the parent's permissions, but an unprivileged domain owns what it creates (Xen).
  if (!c.privileged()) perms.setOwner(c.domid);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    const std::string par = XsPath::parent(*it);
    XsNode parent = *find(tx, par);
    parent.children.insert(XsPath::basename(*it));
    put(tx, par, std::move(parent));
    XsNode fresh;
    fresh.perms = perms;
    put(tx, *it, std::move(fresh));
  }
  return true;
}

void XenstoreDb::removeSubtree(XsTransaction* tx, const std::string& path) {
  const XsNode* node = find(tx, path);
  if (node == nullptr) return;
  const std::set<std::string> children = node->children;
  for (const auto& child : children) {
    const std::string cp = XsPath::join(path, child);
    if (const XsNode* cn = find(tx, cp)) record(tx, {cp, true, cn->perms, std::nullopt});
    removeSubtree(tx, cp);
  }
  erase(tx, path);
}

}  // namespace smartvm::dom0::xenstore
