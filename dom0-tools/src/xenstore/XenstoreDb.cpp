#include "smartvm/dom0/xenstore/XenstoreDb.h"

#include "smartvm/dom0/xenstore/XsPath.h"

namespace smartvm::dom0::xenstore {

XenstoreDb::XenstoreDb(XsQuota quota) : quota_(quota) {
  XsNode root;
  root.generation = generation_++;
  nodes_.emplace("/", std::move(root));
  owned_[0] = 1;
  special_.emplace("@introduceDomain", XsPerms());
  special_.emplace("@releaseDomain", XsPerms());
}

Result<std::string> XenstoreDb::read(const XsCaller& c, std::string_view path) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, false));
  SMARTVM_ASSIGN_OR_RETURN(const XsNode* node, lookup(tx, c, name.abs, kXsRead));
  return node->value;
}

Status XenstoreDb::write(const XsCaller& c, std::string_view path, std::string_view value) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, false));
  if (!c.privileged() && value.size() > quota_.valueSize) return error(ENOSPC, "value exceeds the size quota");
  SMARTVM_ASSIGN_OR_RETURN(bool created, createPath(tx, c, name.abs));
  (void)created;
  XsNode node = *find(tx, name.abs);
  node.value = value;
  const XsPerms perms = node.perms;
  put(tx, name.abs, std::move(node));
  record(tx, {name.abs, false, perms, std::nullopt});
  return Status::ok();
}

Status XenstoreDb::mkdir(const XsCaller& c, std::string_view path) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, false));
  SMARTVM_ASSIGN_OR_RETURN(bool created, createPath(tx, c, name.abs));
  if (created) record(tx, {name.abs, false, find(tx, name.abs)->perms, std::nullopt});
  return Status::ok();
}

Status XenstoreDb::rm(const XsCaller& c, std::string_view path) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, false));
  if (name.abs == "/") return error(EINVAL, "the root cannot be removed");
  auto node = lookup(tx, c, name.abs, kXsWrite);
  if (!node) {
    // Xen: removing something already gone is fine as long as its parent is there.
    if (node.status().code() == ENOENT && find(tx, XsPath::parent(name.abs)) != nullptr) return Status::ok();
    return node.status();
  }
  const std::string parentPath = XsPath::parent(name.abs);
  XsNode parent = *find(tx, parentPath);
  parent.children.erase(XsPath::basename(name.abs));
  put(tx, parentPath, std::move(parent));
  record(tx, {name.abs, false, (*node)->perms, std::nullopt});
  removeSubtree(tx, name.abs);
  return Status::ok();
}

Result<std::vector<std::string>> XenstoreDb::directory(const XsCaller& c, std::string_view path) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, false));
  SMARTVM_ASSIGN_OR_RETURN(const XsNode* node, lookup(tx, c, name.abs, kXsRead));
  return std::vector<std::string>(node->children.begin(), node->children.end());
}

Result<uint64_t> XenstoreDb::generationOf(const XsCaller& c, std::string_view path) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, false));
  SMARTVM_ASSIGN_OR_RETURN(const XsNode* node, lookup(tx, c, name.abs, kXsRead));
  return node->generation;
}

Result<std::vector<std::string>> XenstoreDb::getPerms(const XsCaller& c, std::string_view path) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, true));
  if (name.abs[0] == '@') {
    const XsPerms perms = specialPerms(name.abs);
    if (!perms.allows(c.domid, kXsRead)) return error(EACCES, "no read access to " + name.abs);
    return perms.toStrings();
  }
  SMARTVM_ASSIGN_OR_RETURN(const XsNode* node, lookup(tx, c, name.abs, kXsRead));
  return node->perms.toStrings();
}

Status XenstoreDb::setPerms(const XsCaller& c, std::string_view path, const std::vector<std::string>& perms) {
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(c.domid, path, true));
  SMARTVM_ASSIGN_OR_RETURN(XsPerms wanted, XsPerms::parse(perms));
  if (name.abs[0] == '@') {
    auto it = special_.find(name.abs);
    if (it == special_.end()) return error(ENOENT, name.abs + " is not a special node");
    if (!c.privileged()) return error(EACCES, "only dom0 sets the permissions of " + name.abs);
    it->second = wanted;
    return Status::ok();
  }
  SMARTVM_ASSIGN_OR_RETURN(const XsNode* found, lookup(tx, c, name.abs, kXsWrite));
  // Xen wants XS_PERM_OWNER here: a domain that may merely write cannot re-grant access.
  if (!c.privileged() && found->perms.owner() != c.domid) return error(EACCES, "only the owner sets permissions");
  if (!c.privileged() && wanted.owner() != found->perms.owner()) return error(EPERM, "only dom0 changes owners");
  XsNode node = *found;
  const XsPerms old = node.perms;
  node.perms = wanted;
  put(tx, name.abs, std::move(node));
  record(tx, {name.abs, false, wanted, old});
  return Status::ok();
}

std::vector<XsChange> XenstoreDb::takeChanges() { return std::exchange(changes_, {}); }

XsPerms XenstoreDb::specialPerms(const std::string& name) const {
  auto it = special_.find(name);
  return it == special_.end() ? XsPerms() : it->second;
}

size_t XenstoreDb::nodesOwnedBy(uint32_t domid) const {
  auto it = owned_.find(domid);
  return it == owned_.end() ? 0 : static_cast<size_t>(it->second);
}

}  // namespace smartvm::dom0::xenstore
