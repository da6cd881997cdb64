#pragma once
// Watches smartvm-hv's domain list from a thread of its own and tells the
// hooks what no Toolstack call announces: a domain restarted in place (its
// restart count moved, or its rings changed) or went away on its own. As xl's
// per-domain daemon does for reboots, but one poll of `list` for all domains.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "smartvm/dom0/smartvmd/ControlClient.h"
#include "smartvm/dom0/smartvmd/DomainHooks.h"

namespace smartvm::dom0 {

/// Also a hook itself (added to ToolstackCore after the others): a domain
/// created through smartvmd is known from its create call on, so a reboot
/// within the first poll interval is not mistaken for a new domain.
class DomainMonitor final : public DomainHooks {
 public:
  static constexpr std::chrono::milliseconds kDefaultInterval{500};

  DomainMonitor(const ControlClient& hv, std::vector<DomainHooks*> hooks,
                std::chrono::milliseconds interval = kDefaultInterval)
      : hv_(hv), hooks_(std::move(hooks)), interval_(interval) {}
  ~DomainMonitor() { stop(); }
  DomainMonitor(const DomainMonitor&) = delete;
  DomainMonitor& operator=(const DomainMonitor&) = delete;

  void start();
  void stop();
  /// One look at the domain list (what the thread does each interval).
  void poll();

  void onCreated(const v1::DomainInfo& info) override;
  void onRestarted(const v1::DomainInfo& info) override;
  void onDestroyed(uint32_t domid) override;

 private:
  struct Seen {
    uint32_t restarts = 0;
    uint64_t storeGfn = 0;
    uint32_t storePort = 0;
    uint64_t consoleGfn = 0;
    uint32_t consolePort = 0;
    bool operator==(const Seen&) const = default;
  };
  static Seen seenOf(const v1::DomainInfo& d);

  const ControlClient& hv_;
  std::vector<DomainHooks*> hooks_;
  std::chrono::milliseconds interval_;
  std::mutex seenMu_;  // seen_ is written by gRPC threads (the hook calls) and the monitor thread
  std::map<uint32_t, Seen> seen_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace smartvm::dom0
