#pragma once
// The scheduler framework's core, without threads or KVM: it owns the
// domains and vCPUs the policy sees, their states and runstate times, the
// scheduler lock, and turns state changes (wake, block, pause, yield, pin)
// into policy calls. The pCPU run loop (real vCPUs) and the simulator both
// sit on top of it; what differs is who calls schedule() and how a pCPU is
// told to reschedule (PcpuSignal).
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched {

/// Time per runstate, as Xen's vcpu_runstate_info (paused counts as offline there;
/// here it has its own bucket).
struct Runstate {
  VcpuState state = VcpuState::Offline;
  Ns stateEntry = 0;
  Ns running = 0, runnable = 0, blocked = 0, paused = 0, offline = 0;
};

/// How the core asks pCPU `pcpu` to call schedule() soon (kick its vCPU out
/// of KVM_RUN, wake an idle pCPU thread, or queue a simulator event). Called
/// without the scheduler lock held.
class PcpuSignal {
 public:
  virtual ~PcpuSignal() = default;
  virtual void reschedule(unsigned pcpu) = 0;
  /// A vCPU began waiting for a pCPU (runnable, not running), or a pCPU got
  /// a new vCPU with one waiting behind it. The run loop then looks for
  /// holders idling in the guest (holderWithWaiter); by default nothing happens.
  virtual void waiting() {}
};

/// Where a vCPU runs or may run.
struct Placement {
  int pcpu = -1;         ///< the pCPU it runs on or last ran on; -1 = never ran
  CpuMask hardAffinity;  ///< vcpu-pin
};

/// What a pCPU runs next.
struct PcpuChoice {
  SchedVcpu* next = nullptr;  ///< nullptr: idle until signalled
  Ns slice = -1;              ///< call schedule() again after this long; -1 = when signalled
  int busyOn = -1;            ///< >= 0: `next` still runs there; claim() it once released
};

class Scheduler final : public SchedHost {
 public:
  using ClockFn = std::function<Ns()>;

  /// A scheduler with the registered policy `policy` over `pcpus` pCPUs.
  static Result<std::unique_ptr<Scheduler>> create(std::string_view policy, unsigned pcpus, ClockFn clock,
                                                   PcpuSignal& signal);
  using PolicyMaker = std::function<Result<std::unique_ptr<SchedPolicy>>(SchedHost&)>;
  /// The same with a policy made by `make` (tests, the simulator's own policies).
  static Result<std::unique_ptr<Scheduler>> createWith(const PolicyMaker& make, unsigned pcpus, ClockFn clock,
                                                       PcpuSignal& signal);
  ~Scheduler() override;

  // SchedHost, for the policy (called with the lock held).
  Ns now() const override { return clock_(); }
  void tickle(unsigned pcpu) override;
  unsigned pcpuCount() const override { return pcpus_; }

  /// Adds a domain of `vcpus` vCPUs, all Offline. EEXIST if the domid is taken.
  Status addDomain(uint32_t domid, std::string name, unsigned vcpus, WorkType work = WorkType::Common);
  /// Removes a domain; none of its vCPUs may be running (pause it first). ESRCH, EBUSY.
  Status removeDomain(uint32_t domid);

  // vCPU state changes, from any thread. ESRCH for an unknown vCPU.
  Status wake(uint32_t domid, uint32_t vcpu);    ///< blocked/offline/paused -> runnable
  Status block(uint32_t domid, uint32_t vcpu);   ///< -> blocked
  Status pause(uint32_t domid, uint32_t vcpu);   ///< -> paused (wake() resumes)
  Status offline(uint32_t domid, uint32_t vcpu); ///< -> offline (VCPUOP_down)
  Status yield(uint32_t domid, uint32_t vcpu);
  Status workHint(uint32_t domid, uint32_t vcpu, WorkHint hint);
  /// Hard affinity (vcpu-pin). EINVAL for an empty mask or one without any existing pCPU.
  Status pin(uint32_t domid, uint32_t vcpu, const CpuMask& mask);

  // The pCPU side.
  /// Decides what `pcpu` runs next; the previous vCPU there stops running.
  PcpuChoice schedule(unsigned pcpu);
  /// Takes over a `busyOn` choice once the other pCPU let go of it; returns
  /// false (and `pcpu` should schedule() again) if it is no longer runnable.
  bool claim(unsigned pcpu, SchedVcpu* next);
  /// Blocks the calling pCPU thread until `next` is released, then claims it.
  bool waitAndClaim(unsigned pcpu, SchedVcpu* next);
  /// Periodic policy bookkeeping on `pcpu`; the caller runs it every tickPeriod().
  void tick(unsigned pcpu);
  Ns tickPeriod() const;
  /// The scheduler's object for a vCPU (stable until its domain is removed), or nullptr.
  SchedVcpu* vcpu(uint32_t domid, uint32_t vcpu) const;
  /// The vCPU `pcpu` runs, or nullptr.
  SchedVcpu* current(unsigned pcpu) const;
  /// The vCPU `pcpu` runs if a runnable vCPU that may run there (hard
  /// affinity) waits for a pCPU, so that someone would use `pcpu` if its
  /// vCPU gave it up; otherwise nullptr.
  SchedVcpu* holderWithWaiter(unsigned pcpu) const;

  // Queries and parameters (EINVAL / ESRCH as Xen).
  /// Times up to now; `stateEntry` is when the current state began.
  Result<Runstate> runstate(uint32_t domid, uint32_t vcpu) const;
  Result<Placement> placement(uint32_t domid, uint32_t vcpu) const;
  Result<Params> domainParams(uint32_t domid) const;
  Status setDomainParams(uint32_t domid, const Params& p);
  Params globalParams() const;
  Status setGlobalParams(const Params& p);
  std::string policyName() const;
  std::string dump() const;

 private:
  Scheduler(unsigned pcpus, ClockFn clock, PcpuSignal& signal);
  SchedVcpu* find(uint32_t domid, uint32_t vcpu) const;
  void setState(SchedVcpu& v, VcpuState s, Ns now);
  Status change(uint32_t domid, uint32_t vcpu, VcpuState to);
  void flushTickles(std::unique_lock<std::mutex>& lk);
  /// A runnable vCPU that may run on `pcpu` waits for a pCPU (lock held).
  bool waiterFor(unsigned pcpu) const;

  struct DomainEntry {
    std::unique_ptr<SchedDomain> domain;
    std::vector<std::unique_ptr<SchedVcpu>> vcpus;
    std::vector<Runstate> runstates;
  };

  const unsigned pcpus_;
  ClockFn clock_;
  PcpuSignal& signal_;
  mutable std::mutex m_;
  std::condition_variable released_;
  std::unique_ptr<SchedPolicy> policy_;
  std::map<uint32_t, DomainEntry> domains_;
  std::vector<SchedVcpu*> current_;
  std::vector<bool> tickled_;
  std::set<SchedVcpu*> rewake_;  ///< pinned away while running: wake on deschedule
  bool newWaiter_ = false;       ///< a vCPU became runnable since the last flushTickles
};

}  // namespace smartvm::sched
