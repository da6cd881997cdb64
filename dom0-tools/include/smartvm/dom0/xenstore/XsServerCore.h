#pragma once
// xenstored without I/O: owns the tree, the watches and the connections,
// turns request messages into replies and watch events. Transports (the Unix
// socket server, later the guest rings) only move bytes in and out.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/dom0/xenstore/XenstoreDb.h"
#include "smartvm/dom0/xenstore/XsConnection.h"
#include "smartvm/dom0/xenstore/XsWatches.h"

namespace smartvm::dom0::xenstore {

/// What INTRODUCE / RELEASE mean outside the tree: mapping and unmapping a
/// guest's ring page and binding its event channel. Unset = bookkeeping only.
struct XsDomainHooks {
  std::function<Status(uint32_t domid, uint64_t mfn, uint32_t port)> introduce;
  std::function<void(uint32_t domid)> release;
};

class XsServerCore {
 public:
  /// Watch events are dropped for a client with this much unread output, so a
  /// client that never reads cannot make the daemon grow without bound.
  static constexpr size_t kMaxQueuedBytes = 256 * 1024;

  explicit XsServerCore(XsQuota quota = {});

  /// A new client; the core owns it until removeConnection.
  XsConnection& addConnection(uint32_t domid);
  /// Forgets a client: its watches and open transactions go with it.
  void removeConnection(uint64_t id);
  XsConnection* connection(uint64_t id);
  void setDomainHooks(XsDomainHooks hooks) { hooks_ = std::move(hooks); }

  /// Bytes from a client's transport: frames them and handles every complete message.
  void receive(XsConnection& conn, std::string_view bytes);
  /// Handles one message: queues the reply, then any watch events it caused.
  void handle(XsConnection& conn, const XsMessage& msg);

  XenstoreDb& db() { return db_; }
  bool isIntroduced(uint32_t domid) const { return domid == 0 || introduced_.count(domid) != 0; }
  /// The introduced guests (dom0 not included), in domid order.
  std::vector<uint32_t> introducedDomains() const;
  /// What RELEASE does, for a domain xenstored itself found dead: its
  /// connections close, the release hook runs, @releaseDomain fires. ENOENT if not introduced.
  [[nodiscard]] Status releaseDomain(uint32_t domid);
  /// Fires a special watch ("@releaseDomain" for a domain that shut down, as xenstored does).
  void fireSpecialWatch(const std::string& name) { fireSpecial(name); }

 private:
  Result<std::string> dispatch(XsConnection& conn, const XsMessage& msg);
  Result<std::string> doWrite(const XsCaller& c, std::string_view payload);
  Result<std::string> doDirectoryPart(const XsCaller& c, std::string_view payload);
  Result<std::string> doSetPerms(const XsCaller& c, std::string_view payload);
  Result<std::string> doWatch(XsConnection& conn, std::string_view payload);
  Result<std::string> doUnwatch(XsConnection& conn, std::string_view payload);
  Result<std::string> doTransactionEnd(const XsCaller& c, std::string_view payload);
  Result<std::string> doIntroduce(XsConnection& conn, std::string_view payload);
  Result<std::string> doRelease(XsConnection& conn, std::string_view payload);
  Result<std::string> doDomainQuery(uint32_t type, std::string_view payload);
  void fireSpecial(const std::string& name);
  void deliver(const std::vector<XsWatchEvent>& events);
  void flushEvents();

  XenstoreDb db_;
  XsWatches watches_;
  XsDomainHooks hooks_;
  std::map<uint64_t, std::unique_ptr<XsConnection>> conns_;
  std::map<uint32_t, uint64_t> introduced_;  // domid -> ring mfn
  std::vector<XsWatchEvent> afterReply_;     // registration events, sent behind the WATCH reply
  uint64_t nextConnId_ = 1;
};

}  // namespace smartvm::dom0::xenstore
