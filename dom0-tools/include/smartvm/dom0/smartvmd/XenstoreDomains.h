#pragma once
// A domain's xenstore nodes, as libxl writes them (libxl__domain_make and
// libxl__build_post): /local/domain/<id> readable by the guest, the few
// directories it may write (control/shutdown, data, ...), /vm/<uuid>, its
// memory, vCPUs and rings; then INTRODUCE so smartvm-xenstored attaches the
// guest's ring. Destroy removes them again and RELEASEs the domain.
// Each call opens its own xenstored connection: calls come from gRPC threads
// and the domain monitor, and a restarted xenstored leaves nothing stale.
#include <atomic>
#include <cstdint>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/dom0/smartvmd/DomainHooks.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"

namespace smartvm::dom0 {

class XenstoreDomains final : public DomainHooks {
 public:
  /// xl's LIBXL_XENCONSOLE_LIMIT: the console's byte limit it writes for the guest.
  static constexpr uint64_t kConsoleLimit = 1048576;

  explicit XenstoreDomains(std::string xenstoredSocket) : socket_(std::move(xenstoredSocket)) {}

  void onCreated(const v1::DomainInfo& info) override;
  void onRestarted(const v1::DomainInfo& info) override;
  void onDestroyed(uint32_t domid) override;

  static std::string domainPath(uint32_t domid) { return "/local/domain/" + std::to_string(domid); }

  /// The nodes of a new domain, in one transaction (any old ones of that domid go first).
  [[nodiscard]] Status writeNodes(const v1::DomainInfo& info);
  /// INTRODUCE with the domain's store ring; ENODATA (nothing done) when it has none.
  [[nodiscard]] Status introduce(const v1::DomainInfo& info);
  /// RELEASE (if introduced) and removes /local/domain/<id> and its /vm entry.
  [[nodiscard]] Status removeDomain(uint32_t domid);

 private:
  /// A connection, or the failure after one warning per outage (not one per call).
  Result<xenstore::XenstoreClient> connect();

  std::string socket_;
  std::atomic<bool> warned_{false};
};

}  // namespace smartvm::dom0
