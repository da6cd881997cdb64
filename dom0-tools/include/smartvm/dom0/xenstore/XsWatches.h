#pragma once
// Registered watches of all connections, and which of them a change fires.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Status.h"
#include "smartvm/dom0/xenstore/XsChange.h"

namespace smartvm::dom0::xenstore {

struct XsWatch {
  uint64_t connId = 0;
  uint32_t domid = 0;
  std::string path;  ///< absolute, or special ("@releaseDomain")
  std::string token;
  size_t relativePrefix = 0;  ///< stripped from event paths when the watch was relative
};

/// One WATCH_EVENT to deliver: "path\0token\0" to a connection.
struct XsWatchEvent {
  uint64_t connId = 0;
  std::string path;
  std::string token;
};

class XsWatches {
 public:
  explicit XsWatches(size_t perDomainQuota) : quota_(perDomainQuota) {}

  /// EEXIST for the same path and token twice on a connection, E2BIG past the quota (unprivileged only).
  [[nodiscard]] Status add(XsWatch watch);
  /// ENOENT when no such watch.
  [[nodiscard]] Status remove(uint64_t connId, std::string_view path, std::string_view token);
  void removeConnection(uint64_t connId);

  /// The events `change` fires, for watchers allowed to read the node.
  std::vector<XsWatchEvent> match(const XsChange& change) const;
  /// The event a new watch fires at once: its own path as the client wrote it.
  static XsWatchEvent registrationEvent(const XsWatch& w);
  size_t countForDomain(uint32_t domid) const;

 private:
  static std::string eventPath(const XsWatch& w, const std::string& changed);

  size_t quota_;
  std::vector<XsWatch> watches_;  // registration order, which is firing order
};

}  // namespace smartvm::dom0::xenstore
