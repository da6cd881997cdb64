#pragma once
// A guest's xenstore connection over its ring page: the XsRingTransport and
// the core's XsConnection joined. Requests are pulled when the guest kicks;
// replies and watch events go out as soon as the ring has room.
#include <cstdint>
#include <functional>
#include <string>

#include "smartvm/dom0/xenstore/XsRingTransport.h"
#include "smartvm/dom0/xenstore/XsServerCore.h"

namespace smartvm::dom0::xenstore {

class XsRingConnection {
 public:
  /// `page` is the guest's mapped ring page; `notify` signals its event channel.
  XsRingConnection(XsServerCore& core, uint32_t domid, void* page, std::function<void()> notify);
  ~XsRingConnection();
  XsRingConnection(const XsRingConnection&) = delete;
  XsRingConnection& operator=(const XsRingConnection&) = delete;

  /// The guest's event channel fired: it produced requests or consumed replies.
  void onGuestNotify();
  /// True once the guest broke the ring protocol; the connection is closed then.
  bool broken() const { return ring_.broken(); }
  uint64_t connectionId() const { return connId_; }

 private:
  void pushOutput();
  void fail();

  XsServerCore& core_;
  XsRingTransport ring_;
  uint64_t connId_;
  std::string pending_;  // at most one batch taken from the connection that the ring has not taken yet
};

}  // namespace smartvm::dom0::xenstore
