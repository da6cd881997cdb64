// XsServerCore's request handlers: argument parsing per message type (Xen's
// docs/misc/xenstore.txt) and the call into the tree, watches or domain list.
#include <stdint.h>
// xen.h uses the C fixed-width names unqualified.
#include <xen/xen.h>

#include <charconv>

#include "smartvm/dom0/xenstore/XsPath.h"
#include "smartvm/dom0/xenstore/XsServerCore.h"

namespace smartvm::dom0::xenstore {
namespace {

const std::string kOk("OK", 3);  // "OK\0"

Status badArgs() { return error(EINVAL, "malformed arguments"); }

template <typename T>
std::optional<T> parseNumber(const std::string& s) {
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<std::string> okOr(const Status& s) {
  if (!s.isOk()) return s;
  return kOk;
}

Result<std::string> joined(const Result<std::vector<std::string>>& r) {
  if (!r) return r.status();
  return xsJoinStrings(*r);
}

Result<uint32_t> domidArg(std::string_view payload) {
  const auto arg = xsOneArg(payload);
  if (!arg) return badArgs();
  const auto domid = parseNumber<uint32_t>(*arg);
  if (!domid || *domid >= DOMID_FIRST_RESERVED) return error(EINVAL, "bad domid");
  return *domid;
}

}  // namespace

Result<std::string> XsServerCore::dispatch(XsConnection& conn, const XsMessage& msg) {
  const XsCaller c{conn.domid(), conn.id(), msg.hdr.tx_id};
  const std::string_view p = msg.payload;
  const auto one = xsOneArg(p);
  switch (msg.hdr.type) {
    case XS_READ: return one ? db_.read(c, *one) : badArgs();
    case XS_WRITE: return doWrite(c, p);
    case XS_MKDIR: return one ? okOr(db_.mkdir(c, *one)) : badArgs();
    case XS_RM: return one ? okOr(db_.rm(c, *one)) : badArgs();
    case XS_DIRECTORY: return one ? joined(db_.directory(c, *one)) : badArgs();
    case XS_GET_PERMS: return one ? joined(db_.getPerms(c, *one)) : badArgs();
    case XS_SET_PERMS: return doSetPerms(c, p);
    case XS_WATCH: return doWatch(conn, p);
    case XS_UNWATCH: return doUnwatch(conn, p);
    case XS_RESET_WATCHES:
      // As xenstored: a client starting afresh loses its transactions too.
      watches_.removeConnection(conn.id());
      db_.dropTransactions(conn.id());
      return kOk;
    case XS_TRANSACTION_START: {
      auto id = db_.startTransaction(c);
      if (!id) return id.status();
      return xsJoinStrings({std::to_string(*id)});
    }
    case XS_TRANSACTION_END: return doTransactionEnd(c, p);
    case XS_INTRODUCE: return doIntroduce(conn, p);
    case XS_RELEASE: return doRelease(conn, p);
    case XS_GET_DOMAIN_PATH:
    case XS_IS_DOMAIN_INTRODUCED: return doDomainQuery(msg.hdr.type, p);
    case XS_CONTROL:
    case XS_RESUME:
    case XS_SET_TARGET: return error(ENOSYS, "not implemented yet");
    case XS_DIRECTORY_PART: return doDirectoryPart(c, p);
    default: return error(EINVAL, "unknown message type " + std::to_string(msg.hdr.type));
  }
}

Result<std::string> XsServerCore::doWrite(const XsCaller& c, std::string_view payload) {
  const size_t nul = payload.find('\0');
  if (nul == std::string_view::npos) return badArgs();
  return okOr(db_.write(c, payload.substr(0, nul), payload.substr(nul + 1)));
}

Result<std::string> XsServerCore::doDirectoryPart(const XsCaller& c, std::string_view payload) {
  // libxenstore falls back to this when DIRECTORY answers E2BIG: the offset is
  // a byte offset into the NUL-separated child list, and the reply starts with
  // the node's generation and ends with an empty string once the list is done.
  auto args = xsSplitStrings(payload);
  if (!args || args->size() != 2) return badArgs();
  const auto offset = parseNumber<size_t>((*args)[1]);
  if (!offset) return badArgs();
  SMARTVM_ASSIGN_OR_RETURN(std::vector<std::string> children, db_.directory(c, (*args)[0]));
  SMARTVM_ASSIGN_OR_RETURN(uint64_t generation, db_.generationOf(c, (*args)[0]));
  const std::string all = xsJoinStrings(children);
  std::string reply = xsJoinStrings({std::to_string(generation)});
  if (*offset >= all.size()) return reply + '\0';
  size_t len = 0;
  while (*offset + len < all.size()) {
    const size_t next = all.find('\0', *offset + len) + 1 - *offset;
    if (reply.size() + next >= XENSTORE_PAYLOAD_MAX) break;
    len = next;
  }
  reply.append(all, *offset, len);
  if (*offset + len == all.size()) reply.push_back('\0');
  return reply;
}

Result<std::string> XsServerCore::doSetPerms(const XsCaller& c, std::string_view payload) {
  auto args = xsSplitStrings(payload);
  if (!args || args->size() < 2) return badArgs();
  const std::vector<std::string> perms(args->begin() + 1, args->end());
  return okOr(db_.setPerms(c, args->front(), perms));
}

Result<std::string> XsServerCore::doWatch(XsConnection& conn, std::string_view payload) {
  auto args = xsSplitStrings(payload);
  if (!args || args->size() != 2) return badArgs();
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(conn.domid(), (*args)[0], true));
  XsWatch w{conn.id(), conn.domid(), name.abs, (*args)[1], name.relativePrefix};
  const XsWatchEvent first = XsWatches::registrationEvent(w);
  SMARTVM_TRY(watches_.add(std::move(w)));
  // Xen fires every new watch once, so clients need no separate initial read.
  afterReply_.push_back(first);
  return kOk;
}

Result<std::string> XsServerCore::doUnwatch(XsConnection& conn, std::string_view payload) {
  auto args = xsSplitStrings(payload);
  if (!args || args->size() != 2) return badArgs();
  SMARTVM_ASSIGN_OR_RETURN(XsName name, XsPath::resolve(conn.domid(), (*args)[0], true));
  return okOr(watches_.remove(conn.id(), name.abs, (*args)[1]));
}

Result<std::string> XsServerCore::doTransactionEnd(const XsCaller& c, std::string_view payload) {
  const auto arg = xsOneArg(payload);
  if (!arg || (*arg != "T" && *arg != "F")) return badArgs();
  return okOr(db_.endTransaction(c, *arg == "T"));
}

Result<std::string> XsServerCore::doIntroduce(XsConnection& conn, std::string_view payload) {
  if (conn.domid() != 0) return error(EACCES, "only dom0 introduces domains");
  auto args = xsSplitStrings(payload);
  if (!args || args->size() != 3) return badArgs();
  const auto domid = parseNumber<uint32_t>((*args)[0]);
  const auto mfn = parseNumber<uint64_t>((*args)[1]);
  const auto port = parseNumber<uint32_t>((*args)[2]);
  if (!domid || !mfn || !port || *domid == 0 || *domid >= DOMID_FIRST_RESERVED) return badArgs();
  if (introduced_.count(*domid) != 0) return kOk;  // idempotent, as for a toolstack retrying
  if (hooks_.introduce) SMARTVM_TRY(hooks_.introduce(*domid, *mfn, *port));
  introduced_[*domid] = *mfn;
  fireSpecial("@introduceDomain");
  return kOk;
}

Result<std::string> XsServerCore::doRelease(XsConnection& conn, std::string_view payload) {
  if (conn.domid() != 0) return error(EACCES, "only dom0 releases domains");
  SMARTVM_ASSIGN_OR_RETURN(uint32_t domid, domidArg(payload));
  return okOr(releaseDomain(domid));
}

Status XsServerCore::releaseDomain(uint32_t domid) {
  if (introduced_.erase(domid) == 0) return error(ENOENT, "domain " + std::to_string(domid) + " not introduced");
  for (auto& [id, other] : conns_) {
    if (other->domid() != domid) continue;
    watches_.removeConnection(id);
    db_.dropTransactions(id);
    other->close();
  }
  // The hook may destroy the domain's ring connection (and so erase it from conns_): not while iterating.
  if (hooks_.release) hooks_.release(domid);
  fireSpecial("@releaseDomain");
  return Status::ok();
}

std::vector<uint32_t> XsServerCore::introducedDomains() const {
  std::vector<uint32_t> out;
  for (const auto& [domid, mfn] : introduced_) out.push_back(domid);
  return out;
}

Result<std::string> XsServerCore::doDomainQuery(uint32_t type, std::string_view payload) {
  SMARTVM_ASSIGN_OR_RETURN(uint32_t domid, domidArg(payload));
  if (type == XS_GET_DOMAIN_PATH) return xsJoinStrings({XsPath::domainPath(domid)});
  return xsJoinStrings({isIntroduced(domid) ? "T" : "F"});
}

}  // namespace smartvm::dom0::xenstore
