#pragma once
// The server side of a guest's xenstore ring page (struct
// xenstore_domain_interface): copies requests out of `req` and replies into
// `rsp`. The guest owns the page and may write anything into the indexes at
// any time, so each index is read once and checked before it is used.
#include <cstdint>
#include <functional>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/dom0/xenstore/XsMessage.h"

namespace smartvm::dom0::xenstore {

class XsRingTransport {
 public:
  /// `page` must stay mapped while the transport lives; `notify` kicks the guest's event channel.
  XsRingTransport(void* page, std::function<void()> notify);

  /// Takes every request byte the guest has produced. EPROTO (and the
  /// transport is broken from then on) when the indexes claim more than a ring's worth.
  Result<std::string> readRequests();
  /// Moves as much of `out` as fits into the response ring, erasing what was
  /// written; notifies the guest if anything was. EPROTO when the indexes are hostile.
  [[nodiscard]] Status writeResponses(std::string& out);
  /// Offers the features we honour (the error field) to the guest.
  void advertiseFeatures();
  /// True after hostile indexes: nothing more is read or written.
  bool broken() const { return broken_; }

 private:
  Status fail(const char* what, uint32_t prod, uint32_t cons);

  xenstore_domain_interface* intf_;
  std::function<void()> notify_;
  bool broken_ = false;
};

}  // namespace smartvm::dom0::xenstore
