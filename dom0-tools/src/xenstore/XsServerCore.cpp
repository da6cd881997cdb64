#include "smartvm/dom0/xenstore/XsServerCore.h"

#include <spdlog/spdlog.h>

namespace smartvm::dom0::xenstore {

XsServerCore::XsServerCore(XsQuota quota) : db_(quota), watches_(quota.watchesPerDomain) {}

XsConnection& XsServerCore::addConnection(uint32_t domid) {
  const uint64_t id = nextConnId_++;
  auto& conn = conns_[id];
  conn = std::make_unique<XsConnection>(id, domid);
  return *conn;
}

void XsServerCore::removeConnection(uint64_t id) {
  watches_.removeConnection(id);
  db_.dropTransactions(id);
  conns_.erase(id);
}

XsConnection* XsServerCore::connection(uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void XsServerCore::receive(XsConnection& conn, std::string_view bytes) {
  if (conn.closed()) return;
  conn.reader().feed(bytes);
  while (!conn.closed()) {
    auto msg = conn.reader().next();
    if (!msg) break;
    handle(conn, *msg);
  }
}

void XsServerCore::handle(XsConnection& conn, const XsMessage& msg) {
  if (conn.closed()) return;
  if (msg.oversized) {
    // The stream cannot be re-synchronised after a bogus length: answer once and stop listening.
    spdlog::warn("xenstore: connection {} (dom{}) sent a {}-byte payload, over XENSTORE_PAYLOAD_MAX; closing",
                 conn.id(), conn.domid(), msg.hdr.len);
    conn.sendError(msg.hdr, E2BIG);
    conn.close();
    return;
  }
  auto reply = dispatch(conn, msg);
  if (reply && reply->size() > XENSTORE_PAYLOAD_MAX) reply = error(E2BIG, "reply exceeds XENSTORE_PAYLOAD_MAX");
  if (reply) {
    conn.send(msg.hdr.type, msg.hdr.req_id, msg.hdr.tx_id, *reply);
  } else {
    spdlog::debug("xenstore: dom{} request type {}: {}", conn.domid(), msg.hdr.type, reply.status().toString());
    conn.sendError(msg.hdr, reply.status().code());
  }
  deliver(std::exchange(afterReply_, {}));
  flushEvents();
}

void XsServerCore::flushEvents() {
  for (const auto& change : db_.takeChanges()) deliver(watches_.match(change));
}

void XsServerCore::deliver(const std::vector<XsWatchEvent>& events) {
  for (const auto& ev : events) {
    XsConnection* target = connection(ev.connId);
    if (target == nullptr || target->closed()) continue;
    if (target->queuedBytes() > kMaxQueuedBytes) {
      if (target->firstDroppedEvent()) {
        spdlog::warn("xenstore: connection {} (dom{}) is not reading; dropping its watch events", target->id(),
                     target->domid());
      }
      continue;
    }
    target->send(XS_WATCH_EVENT, 0, 0, xsJoinStrings({ev.path, ev.token}));
  }
}

void XsServerCore::fireSpecial(const std::string& name) {
  deliver(watches_.match(XsChange{name, true, db_.specialPerms(name), std::nullopt}));
}

}  // namespace smartvm::dom0::xenstore
