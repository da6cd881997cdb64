#include "smartvm/dom0/xenstore/XsRingConnection.h"

#include <spdlog/spdlog.h>

namespace smartvm::dom0::xenstore {

XsRingConnection::XsRingConnection(XsServerCore& core, uint32_t domid, void* page, std::function<void()> notify)
    : core_(core), ring_(page, std::move(notify)), connId_(core.addConnection(domid).id()) {
  ring_.advertiseFeatures();
  // Watch events caused by other clients must reach the guest without waiting for its next kick.
  core_.connection(connId_)->setOutputListener([this] { pushOutput(); });
}

XsRingConnection::~XsRingConnection() { core_.removeConnection(connId_); }

void XsRingConnection::onGuestNotify() {
  XsConnection* conn = core_.connection(connId_);
  if (conn == nullptr || conn->closed() || ring_.broken()) return;
  auto bytes = ring_.readRequests();
  if (!bytes) return fail();
  core_.receive(*conn, *bytes);
  pushOutput();
}

void XsRingConnection::pushOutput() {
  XsConnection* conn = core_.connection(connId_);
  if (conn == nullptr || ring_.broken()) return;
  // Take more from the connection only when the ring took everything, so the
  // backlog of a guest that stops reading stays where the core's limit sees it.
  for (;;) {
    if (pending_.empty()) {
      if (!conn->hasOutput()) return;
      pending_ = conn->takeOutput();
    }
    const size_t before = pending_.size();
    if (!ring_.writeResponses(pending_).isOk()) return fail();
    if (pending_.size() == before) return;  // ring full: the guest's next kick resumes
  }
}

void XsRingConnection::fail() {
  if (XsConnection* conn = core_.connection(connId_)) {
    spdlog::warn("xenstore: closing dom{}'s ring connection after a protocol violation", conn->domid());
    conn->close();
  }
}

}  // namespace smartvm::dom0::xenstore
