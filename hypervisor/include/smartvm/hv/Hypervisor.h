#pragma once
// smartvm-hv's heart: the domain table (domid 0 is the control domain),
// domain creation, and the lifecycle actions taken when a guest shuts down.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "smartvm/Result.h"
#include "smartvm/hv/Dom0EventChannels.h"
#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::hv {

struct HypervisorOptions {
  std::string logDir;        ///< per-domain logs; empty = none
  uint32_t maxVcpus = 128;   ///< per domain
};

class Hypervisor {
 public:
  Hypervisor(Platform& platform, HypervisorOptions opts);
  /// Destroys every domain: guests cannot outlive the process that runs them.
  ~Hypervisor();
  Hypervisor(const Hypervisor&) = delete;
  Hypervisor& operator=(const Hypervisor&) = delete;

  Result<smartvm::v1::DomainInfo> createDomain(smartvm::v1::DomainConfig config);
  Status pause(uint32_t domid);
  Status unpause(uint32_t domid);
  Status destroy(uint32_t domid);
  /// Asks a guest to shut down; without a PV control interface only `force` works (immediate).
  Status shutdown(uint32_t domid, unsigned reason, bool force);
  /// Waits until the domain is shut down, crashed or gone. ETIMEDOUT otherwise.
  Status waitForShutdown(uint32_t domid, std::chrono::milliseconds timeout);

  Result<smartvm::v1::DomainInfo> domainInfo(uint32_t domid);
  std::vector<smartvm::v1::DomainInfo> listDomains();
  /// A domain's console history, also for a while after it is destroyed.
  Result<std::shared_ptr<ConsoleBuffer>> console(uint32_t domid);
  smartvm::v1::HostInfo hostInfo(const std::string& platformInfo);
  std::shared_ptr<Domain> find(uint32_t domid);
  /// The machine's event channels (every domain's ports, domain 0's included).
  evtchn::EventChannels& eventChannels() { return eventChannels_; }
  /// Domain 0's event channel endpoint, used by the control socket.
  Dom0EventChannels& dom0EventChannels() { return dom0Events_; }
  /// Xen's debug key 'q': VIRQ_DEBUG to every vCPU of every guest, and the
  /// domains in the log. Returns one line per domain notified.
  std::string debugKeyDomains();

 private:
  Status validateScheduling(const smartvm::v1::DomainConfig& c);
  Status validate(const smartvm::v1::DomainConfig& c);
  uint32_t allocateDomid();  // caller holds m_
  void onShutdown(uint32_t domid);
  void reaperLoop();
  void applyLifecycle(const std::shared_ptr<Domain>& d);
  void remove(uint32_t domid);

  Platform& platform_;
  HypervisorOptions opts_;
  HypercallTable hypercalls_;
  TimerQueue timers_;  // every vCPU's Xen timers; outlives the domains
  ExitDispatcher dispatcher_;
  uint64_t startNs_;

  std::mutex createMutex_;
  std::mutex m_;
  std::condition_variable changed_;
  std::map<uint32_t, std::shared_ptr<Domain>> domains_;
  std::map<uint32_t, std::shared_ptr<ConsoleBuffer>> retiredConsoles_;
  std::deque<uint32_t> shutdownQueue_;
  uint32_t nextDomid_ = 1;
  bool stopping_ = false;
  std::thread reaper_;
  evtchn::EventChannels eventChannels_;  // after the table: its notify looks domains up
  Dom0EventChannels dom0Events_{eventChannels_};  // after eventChannels_: registers dom0 in it
};

/// Domain-0, the control domain (the host), as `list` shows it.
smartvm::v1::DomainInfo controlDomainInfo();

/// xl's lifecycle action for a shutdown reason under a config (defaults applied).
smartvm::v1::LifecycleAction lifecycleActionFor(const smartvm::v1::DomainConfig& c, unsigned reason);

}  // namespace smartvm::hv
