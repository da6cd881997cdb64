#pragma once
// Every domain's console kept on disk, as xenconsoled --log=guest does: one
// file per domain (<dir>/guest-<name>.log), rotated by size. A single thread
// polls each domain's console history in turn, so a few dozen guests cost
// one thread and a short request each per round. Bytes the hypervisor's
// history dropped before they were read are marked in the log, not hidden.
// How far a log got is kept beside it (guest-<name>.log.pos: the domain's
// domid, creation time and history offset), so a restarted smartvmd goes on
// where it stopped instead of appending the whole history again, as
// xenconsoled goes on from the ring's out_cons.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "smartvm/dom0/smartvmd/ControlClient.h"
#include "smartvm/dom0/smartvmd/DomainHooks.h"
#include "smartvm/dom0/smartvmd/RotatingLog.h"

namespace smartvm::dom0 {

class ConsoleLogger : public DomainHooks {
 public:
  struct Options {
    std::string dir;                 ///< where the logs go; empty disables logging
    uint64_t maxBytes = 1u << 20;    ///< rotate a log beyond this size
    unsigned keep = 3;               ///< rotated files kept per domain
    std::chrono::milliseconds every{250};
  };

  ConsoleLogger(const ControlClient& hv, Options o) : hv_(hv), opt_(std::move(o)) {}
  ~ConsoleLogger() override { stop(); }
  ConsoleLogger(const ConsoleLogger&) = delete;
  ConsoleLogger& operator=(const ConsoleLogger&) = delete;

  /// Starts the polling thread (a no-op when logging is disabled).
  void start();
  void stop();
  /// One round: every domain's new console bytes appended to its log; a domain
  /// that went since the last round has its last bytes logged and is dropped.
  void pollOnce();
  /// As a hook (ToolstackCore's): a domain created through smartvmd is logged
  /// even if it is gone before the next round's list, as a guest that fails
  /// at once would be; its history outlives it in smartvm-hv.
  void onCreated(const v1::DomainInfo& info) override;
  void onRestarted(const v1::DomainInfo&) override {}  // same domid and history: the log goes on
  void onDestroyed(uint32_t) override {}                // the next round logs its last bytes
  /// The log file of the domain called `name`.
  std::string logPath(const std::string& name) const { return opt_.dir + "/guest-" + name + ".log"; }
  /// Where the log of `name` records how far it got.
  std::string positionPath(const std::string& name) const { return logPath(name) + ".pos"; }

 private:
  struct Followed {
    uint32_t domid = 0;
    uint64_t created = 0;  // tells a new domain from an old one that had the same domid
    uint64_t offset = 0;
    std::string name;
    std::unique_ptr<RotatingLog> log;
    bool failing = false;  // the last append failed: warned once, not every round
  };
  /// The entry of a domain, made afresh for a new one (another `created`).
  Followed& track(uint32_t domid, const std::string& name, uint64_t created);
  void follow(uint32_t domid, const std::string& name, uint64_t created);
  /// Appends what the domain's console history holds past f.offset.
  void drain(uint32_t domid, Followed& f);
  /// The offset a previous smartvmd logged up to for this very domain (same
  /// domid and creation time), or 0.
  uint64_t loggedUpTo(const std::string& name, uint32_t domid, uint64_t created) const;
  void savePosition(const Followed& f) const;
  bool stopping();

  const ControlClient& hv_;
  Options opt_;
  std::map<uint32_t, Followed> domains_;
  std::vector<v1::DomainInfo> created_;  // onCreated since the last round; guarded by m_
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace smartvm::dom0
