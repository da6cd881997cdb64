#pragma once
// The scheduler's policy interface, in the spirit of Xen's `struct sched_ops`
// (xen/common/sched/private.h). The framework (the pCPU run loop on real KVM,
// or the simulator) owns vCPUs, domains, time and pCPUs; a policy only decides
// who runs where and for how long. Policy-private state hangs off
// SchedVcpu::priv / SchedDomain::priv and stays inside the policy's file.
//
// Threading: the framework serialises every call into a policy (one scheduler
// lock), so policies need no locking of their own. Calls never block.
#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/Status.h"

namespace smartvm::sched {

/// Nanoseconds on the framework's clock (CLOCK_MONOTONIC, or simulated time).
using Ns = int64_t;
inline constexpr Ns kNsPerUs = 1000;
inline constexpr Ns kNsPerMs = 1000 * kNsPerUs;

/// pCPUs a policy may have to handle: the simulator's upper bound.
inline constexpr unsigned kMaxPcpus = 256;
using CpuMask = std::bitset<kMaxPcpus>;

/// The framework's view of a vCPU's state (Xen's RUNSTATE_* plus paused).
enum class VcpuState { Running, Runnable, Blocked, Paused, Offline };
const char* vcpuStateName(VcpuState s);

/// What kind of work a vCPU is doing, for the parallel policy: common work
/// is scheduled by credit rules, concurrent work is gang-scheduled.
enum class WorkType { Common, Concurrent };

/// A hint about a vCPU's work, from the domain config or the guest (the
/// Smart-VM parallel-phase extension). Policies that do not care ignore it.
enum class WorkHint {
  ConcurrentBegin,  ///< this vCPU joins its domain's concurrent task
  ConcurrentEnd,    ///< this vCPU leaves it (back to common work)
  LayerDone,        ///< this vCPU finished its part of the task's current layer
};

/// Base of a policy's private per-vCPU / per-domain / per-pCPU data.
struct PolicyData {
  virtual ~PolicyData() = default;
};

struct SchedDomain;

/// One vCPU as the scheduler sees it. Owned by the framework; a policy reads
/// everything but writes only `priv`.
struct SchedVcpu {
  uint32_t domid = 0;
  uint32_t id = 0;  ///< index within its domain
  SchedDomain* domain = nullptr;
  CpuMask hardAffinity = CpuMask().set();  ///< pCPUs it may run on (vcpu-pin)
  int pcpu = -1;           ///< the pCPU it runs on, or last ran on; -1 = never ran
  bool running = false;    ///< on a pCPU right now (framework-maintained)
  VcpuState state = VcpuState::Offline;
  std::unique_ptr<PolicyData> priv;
};

/// One domain as the scheduler sees it.
struct SchedDomain {
  uint32_t domid = 0;
  std::string name;
  std::vector<SchedVcpu*> vcpus;
  WorkType configuredWork = WorkType::Common;  ///< from the domain config
  std::unique_ptr<PolicyData> priv;
};

/// What do_schedule decided for one pCPU.
struct Decision {
  SchedVcpu* next = nullptr;  ///< nullptr: the pCPU idles
  Ns slice = -1;              ///< call doSchedule again after this long; -1 = not before an event
  bool migrated = false;      ///< `next` last ran on another pCPU
};

/// Named integer parameters ("weight", "cap", "tslice_ms", ...). Each policy
/// documents its keys; unknown keys or bad values are refused with EINVAL.
using Params = std::map<std::string, int64_t>;

/// What a policy may ask of the framework.
class SchedHost {
 public:
  virtual ~SchedHost() = default;
  /// The current time.
  virtual Ns now() const = 0;
  /// Ask pCPU `pcpu` to call doSchedule soon (Xen's cpu_raise_softirq(SCHEDULE_SOFTIRQ)).
  virtual void tickle(unsigned pcpu) = 0;
  /// The number of pCPUs, fixed for the policy's life.
  virtual unsigned pcpuCount() const = 0;
};

/// A scheduling policy. All calls come with the scheduler lock held.
class SchedPolicy {
 public:
  virtual ~SchedPolicy() = default;
  /// Registered name ("credit", "parallel").
  virtual std::string_view name() const = 0;

  virtual void insertDomain(SchedDomain& d) = 0;
  /// All of its vCPUs have been removed first.
  virtual void removeDomain(SchedDomain& d) = 0;
  /// A new vCPU, state Offline or Paused; it is not runnable until wake().
  virtual void insertVcpu(SchedVcpu& v) = 0;
  /// The vCPU is not running and will not be woken again.
  virtual void removeVcpu(SchedVcpu& v) = 0;

  /// `v` stopped being runnable (blocked, paused, offline). If it is running,
  /// the framework calls doSchedule on its pCPU next.
  virtual void sleep(SchedVcpu& v, Ns now) = 0;
  /// `v` became runnable; the policy queues it and tickles a pCPU if it should run soon.
  virtual void wake(SchedVcpu& v, Ns now) = 0;
  /// The running `v` gives up the rest of its slice (SCHEDOP_yield);
  /// doSchedule on its pCPU follows.
  virtual void yield(SchedVcpu& v) = 0;

  /// Picks what `pcpu` runs next. `prev` is what ran there (nullptr: idle);
  /// `prevRunnable` says whether it may keep running. Returning `prev` again
  /// continues it.
  virtual Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) = 0;
  /// A pCPU `v` may run on, for placing it on wake or after an affinity change.
  virtual unsigned pickCpu(const SchedVcpu& v) = 0;

  /// Lends pCPU `pcpu` away (false) or gives it back (true), like moving a
  /// pCPU between Xen cpupools: while lent, doSchedule is not called for it
  /// except once to hand back `prev` (the policy requeues it and returns
  /// nullptr), pickCpu avoids it and work moves elsewhere. The parallel policy
  /// lends pCPUs of its common-work policy to gangs. ENOTSUP if unsupported.
  virtual Status setPcpuAvailable(unsigned pcpu, bool available) {
    (void)pcpu;
    (void)available;
    return error(ENOTSUP, std::string(name()) + " cannot lend pCPUs");
  }

  /// How often the framework calls tick() on each pCPU; 0 = never.
  virtual Ns tickPeriod() const = 0;
  /// Periodic bookkeeping on `pcpu` (credit burning, accounting).
  virtual void tick(unsigned pcpu, Ns now) = 0;

  /// A work hint for `v` (see WorkHint). EINVAL if it makes no sense in the vCPU's state.
  virtual Status workHint(SchedVcpu& v, WorkHint hint, Ns now) = 0;

  /// Per-domain parameters, Xen's sched_adjust (XEN_DOMCTL_SCHEDOP_get/putinfo).
  virtual Result<Params> domainParams(const SchedDomain& d) const = 0;
  virtual Status setDomainParams(SchedDomain& d, const Params& p) = 0;
  /// Policy-wide parameters, Xen's sched_adjust_global.
  virtual Params globalParams() const = 0;
  virtual Status setGlobalParams(const Params& p) = 0;

  /// Human-readable state (Xen's dump_settings + dump_cpu_state), for debug-keys 'r'.
  virtual void dump(std::ostream& out) const = 0;
};

/// Creates a policy bound to a host.
using PolicyFactory = std::unique_ptr<SchedPolicy> (*)(SchedHost& host);

/// The registered policies, by name (Xen's REGISTER_SCHEDULER, without
/// linker-section tricks: builtin policies are listed in PolicyRegistry.cpp).
class PolicyRegistry {
 public:
  /// The registry with every builtin policy.
  static const PolicyRegistry& builtin();
  void add(std::string name, PolicyFactory factory);
  /// ENOENT with the known names when `name` is not registered.
  Result<std::unique_ptr<SchedPolicy>> create(std::string_view name, SchedHost& host) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, PolicyFactory, std::less<>> factories_;
};

}  // namespace smartvm::sched
