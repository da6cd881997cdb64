// XenstoreDb's transactions: start, end, and the commit-time conflict check.
#include "smartvm/dom0/xenstore/XenstoreDb.h"

namespace smartvm::dom0::xenstore {

Result<XsTransaction*> XenstoreDb::transactionFor(const XsCaller& c) {
  if (c.txId == 0) return static_cast<XsTransaction*>(nullptr);
  auto it = transactions_.find(c.txId);
  // Another connection's transaction is as unknown to this one as a made-up id.
  if (it == transactions_.end() || it->second->connId() != c.connId) {
    return error(ENOENT, "no transaction " + std::to_string(c.txId));
  }
  return it->second.get();
}

Result<uint32_t> XenstoreDb::startTransaction(const XsCaller& c) {
  if (c.txId != 0) return error(EBUSY, "transactions do not nest");
  if (!c.privileged() && transactionCount(c.connId) >= quota_.transactionsPerConn) {
    return error(ENOSPC, "transaction quota exceeded");
  }
  while (nextTxId_ == 0 || transactions_.count(nextTxId_) != 0) ++nextTxId_;
  const uint32_t id = nextTxId_++;
  transactions_.emplace(id, std::make_unique<XsTransaction>(id, c.connId));
  return id;
}

Status XenstoreDb::endTransaction(const XsCaller& c, bool commitIt) {
  if (c.txId == 0) return error(ENOENT, "TRANSACTION_END outside a transaction");
  SMARTVM_ASSIGN_OR_RETURN(XsTransaction * tx, transactionFor(c));
  auto owned = std::move(transactions_.at(tx->id()));
  transactions_.erase(tx->id());
  if (!commitIt) return Status::ok();
  return commit(*owned);
}

Status XenstoreDb::commit(XsTransaction& tx) {
  for (const auto& [path, seen] : tx.accessed()) {
    auto it = nodes_.find(path);
    const uint64_t now = it == nodes_.end() ? 0 : it->second.generation;
    if (now != seen) return error(EAGAIN, "transaction conflicts on " + path);
  }
  for (auto& [path, node] : tx.changed()) {
    if (node) {
      put(nullptr, path, std::move(*node));
    } else {
      erase(nullptr, path);
    }
  }
  auto& pending = tx.pendingChanges();
  changes_.insert(changes_.end(), std::make_move_iterator(pending.begin()), std::make_move_iterator(pending.end()));
  return Status::ok();
}

void XenstoreDb::dropTransactions(uint64_t connId) {
  std::erase_if(transactions_, [connId](const auto& kv) { return kv.second->connId() == connId; });
}

size_t XenstoreDb::transactionCount(uint64_t connId) const {
  size_t n = 0;
  for (const auto& [id, tx] : transactions_) n += tx->connId() == connId ? 1 : 0;
  return n;
}

}  // namespace smartvm::dom0::xenstore
