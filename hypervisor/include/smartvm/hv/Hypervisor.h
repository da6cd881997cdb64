#pragma once
// smartvm-hv's heart: the domain table (domid 0 is the control domain),
// domain creation, and the lifecycle actions taken when a guest shuts down.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <thread>

#include "smartvm/Result.h"
#include "smartvm/hv/Dom0EventChannels.h"
#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/grant/GrantOps.h"
#include "smartvm/hv/sched/HostScheduler.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::hv {

struct HypervisorOptions {
  std::string logDir;        ///< per-domain logs; empty = none
  uint32_t maxVcpus = 128;   ///< per domain
  /// The vCPU scheduler's policy ("credit", "parallel"), or "none": every vCPU
  /// thread free-runs under the host kernel's scheduler (a baseline).
  std::string schedPolicy = "credit";
  /// Host cores the pCPUs are bound to, an xl CPU list ("0-3", "all"); one
  /// pCPU per listed core. Empty = every core this process may use.
  std::string pcpus;
  /// While a vCPU waits for a pCPU, that pCPU's vCPU is checked this often
  /// for idling in `hlt` inside KVM (then it hands the pCPU on); 0 = never,
  /// so a halted vCPU keeps its pCPU until its slice ends.
  int64_t haltCheckUs = 1000;
};

/// One vCPU as `xl vcpu-list` shows it.
struct VcpuListEntry {
  uint32_t domid = 0;
  std::string name;
  uint32_t vcpu = 0;
  int pcpu = -1;           ///< the pCPU it runs on or last ran on; -1 = none yet
  bool online = false;     ///< not down/offline
  bool running = false;    ///< on a pCPU now
  bool blocked = false;
  bool paused = false;
  double cpuSeconds = 0;   ///< time it spent running
  std::string hardAffinity = "all";  ///< an xl CPU list
};

class Hypervisor {
 public:
  /// `opts` must pass checkOptions(); a bad policy or pCPU list is logged and
  /// the hypervisor runs without a scheduler ("none").
  Hypervisor(Platform& platform, HypervisorOptions opts);
  /// EINVAL naming the bad option: an unknown policy (listing the known ones),
  /// a CPU list naming cores this process may not use.
  [[nodiscard]] static Status checkOptions(const HypervisorOptions& opts);
  /// Destroys every domain: guests cannot outlive the process that runs them.
  ~Hypervisor();
  Hypervisor(const Hypervisor&) = delete;
  Hypervisor& operator=(const Hypervisor&) = delete;

  /// `holdPaused`: the first start is paused (one Unpause releases it) without
  /// the config saying so, so restarts run at once (CreateDomain.hold_paused).
  Result<smartvm::v1::DomainInfo> createDomain(smartvm::v1::DomainConfig config, bool holdPaused = false);
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
  /// Grant map/unmap/copy with dom0 as the grantee (the control socket's
  /// grant_* operations). Its lookup reads a domain's grant table unpinned:
  /// callers hold Domain::pinMemory() of every granter they name.
  GrantOps& grantOps() { return grantOps_; }
  /// Xen's debug key 'q': VIRQ_DEBUG to every vCPU of every guest, and the
  /// domains in the log. Returns one line per domain notified.
  std::string debugKeyDomains();

  // --- the vCPU scheduler (HypervisorSched.cpp) ---
  // Errors as Xen's: ESRCH for an unknown domain or vCPU, EINVAL for a bad
  // value (the message names it), EOPNOTSUPP when the policy has no such
  // parameter or vCPUs are not scheduled (policy "none").
  /// The host's policy: "credit", "parallel" or "none".
  std::string schedPolicy() const;
  /// pCPUs the scheduler multiplexes vCPUs on (host cores when "none").
  unsigned pcpuCount() const;
  /// A domain's parameters ("weight", "cap", and for parallel "concurrent").
  Result<std::map<std::string, int64_t>> schedDomainParams(uint32_t domid);
  Status setSchedDomainParams(uint32_t domid, const std::map<std::string, int64_t>& params);
  /// The policy's global parameters ("tslice_ms", "ratelimit_us", "gang_slice_ms", ...).
  Result<std::map<std::string, int64_t>> schedGlobalParams();
  Status setSchedGlobalParams(const std::map<std::string, int64_t>& params);
  /// Hard affinity of one vCPU, or every vCPU of the domain when `vcpu` is empty,
  /// as an xl CPU list ("all", "0-1,3", "^2").
  Status pinVcpu(uint32_t domid, std::optional<uint32_t> vcpu, const std::string& cpuList);
  /// The policy's state, as Xen's debug key 'r' prints it; empty without a scheduler.
  std::string schedDump();
  /// Every vCPU of one domain, or of all guest domains when `domid` is empty.
  Result<std::vector<VcpuListEntry>> vcpuList(std::optional<uint32_t> domid);

 private:
  Status validateScheduling(const smartvm::v1::DomainConfig& c);
  Status validate(const smartvm::v1::DomainConfig& c);
  uint32_t allocateDomid();  // caller holds m_
  void onShutdown(uint32_t domid);
  void reaperLoop();
  void applyLifecycle(const std::shared_ptr<Domain>& d);
  void remove(uint32_t domid);
  /// Registers a new domain with the scheduler and applies its config
  /// (weight, cap, cpus, sched_work). No-op without a scheduler.
  Status scheduleDomain(uint32_t domid, const smartvm::v1::DomainConfig& c);
  void unscheduleDomain(uint32_t domid);
  void startScheduler();
  /// The domain's scheduler view, or ESRCH/EOPNOTSUPP.
  Status checkSchedulable(uint32_t domid);

  Platform& platform_;
  HypervisorOptions opts_;
  HypercallTable hypercalls_;
  TimerQueue timers_;  // every vCPU's Xen timers; outlives the domains
  ExitDispatcher dispatcher_;
  uint64_t startNs_;
  std::vector<unsigned> pcpuCores_;               // host core of each pCPU
  std::unique_ptr<HostScheduler> hostSched_;      // null: policy "none"; outlives the domains

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
  GrantOps grantOps_{[this](domid_t domid) -> GrantTable* {
    auto d = find(domid);
    return d ? d->grantTable() : nullptr;
  }};
};

/// Domain-0, the control domain (the host), as `list` shows it.
smartvm::v1::DomainInfo controlDomainInfo();

/// xl's lifecycle action for a shutdown reason under a config (defaults applied).
smartvm::v1::LifecycleAction lifecycleActionFor(const smartvm::v1::DomainConfig& c, unsigned reason);

}  // namespace smartvm::hv
