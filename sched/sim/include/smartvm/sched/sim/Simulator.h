#pragma once
// The discrete-event scheduler simulator. It plays the pCPU loop's part over
// the framework core (Scheduler, the same object the real run loop uses) on a
// simulated clock: tickles become Reschedule events at the same timestamp
// (coalesced per pCPU), decisions arm slice timers, every pCPU ticks each
// tickPeriod() (staggered, as Xen does), and synthetic workloads wake, block,
// yield, pause and send work hints. The policy is the unchanged object a
// PolicyMaker or PolicyRegistry::builtin() gives; only its doSchedule is
// timed on the host clock.
//
// Single-threaded and deterministic: one seeded std::mt19937_64 and an event
// queue that breaks time ties by insertion order.
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/sched/Scheduler.h"
#include "smartvm/sched/sim/EventQueue.h"
#include "smartvm/sched/sim/SimConfig.h"
#include "smartvm/sched/sim/SimReport.h"

namespace smartvm::sched::sim {

class TimedPolicy;

class Simulator {
 public:
  using PolicyMaker = Scheduler::PolicyMaker;
  /// Called with 10, 20, ... 100 as simulated time passes each tenth of the run.
  using ProgressFn = std::function<void(unsigned percent)>;

  /// A simulator of `config` over the policy `make` creates. EINVAL naming
  /// the field for a bad config; the policy's own error for parameters it refuses.
  static Result<std::unique_ptr<Simulator>> create(const SimConfig& config, const PolicyMaker& make);
  /// The same with the policy registered as `policy` (ENOENT lists the known names).
  static Result<std::unique_ptr<Simulator>> create(const SimConfig& config, std::string_view policy);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  /// Runs the configured duration and reports. EALREADY the second time;
  /// ELOOP if the policy reschedules endlessly without simulated time passing.
  [[nodiscard]] Result<SimReport> run(const ProgressFn& progress = {});

 private:
  /// Turns the core's reschedule requests into events.
  class Signal final : public PcpuSignal {
   public:
    explicit Signal(Simulator& s) : sim_(s) {}
    void reschedule(unsigned pcpu) override { sim_.requestReschedule(pcpu); }

   private:
    Simulator& sim_;
  };

  enum class Phase : uint8_t { Offline, Working, Blocked };
  static constexpr Ns kForever = INT64_MAX;

  /// The workload side of one vCPU.
  struct VcpuSim {
    SchedVcpu* sv = nullptr;
    uint32_t domain = 0;  ///< index into domains_
    Phase phase = Phase::Offline;
    bool progressing = false;  ///< on a pCPU, doing its work
    Ns remaining = 0;          ///< work left in the current piece (kForever: endless)
    Ns progressFrom = 0;       ///< work counts from here (after a context switch)
    uint64_t burstGen = 0;     ///< invalidates queued BurstEnd events
    Ns wokeAt = -1;            ///< a wake-up whose latency is still to be measured
    bool pendingEnd = false;    ///< guestHints: says ConcurrentEnd when it next runs
    bool pendingBegin = false;  ///< guestHints: then ConcurrentBegin
  };
  /// What one pCPU's loop remembers between events.
  struct PcpuSim {
    bool reschedPending = false;  ///< a Reschedule event is queued (tickles coalesce)
    uint64_t sliceGen = 0;        ///< invalidates queued SliceEnd events
    SchedVcpu* lastRan = nullptr;
    SchedVcpu* awaiting = nullptr;  ///< chosen but still running elsewhere (busyOn)
    Ns awaitingSlice = -1;
  };
  /// One domain's workload state.
  struct DomainSim {
    const DomainSpec* spec = nullptr;
    uint32_t firstVcpu = 0;  ///< index of its vCPU 0 in vcpus_
    unsigned pauseDepth = 0;
    unsigned layer = 0;     ///< current layer of the running task
    unsigned finished = 0;  ///< vCPUs done with the current layer
    unsigned tasksDone = 0;
    Ns taskStart = 0;
    std::vector<Ns> taskTimes;
    bool inSerial = false;  ///< vCPU 0 runs a serial task
    unsigned serialDone = 0;
    Ns serialStart = 0;
    std::vector<Ns> serialTimes;
    Ns doneAt = -1;  ///< its last finite task finished
    std::vector<Ns> latencies;
  };

  explicit Simulator(const SimConfig& config);
  [[nodiscard]] Status init(const PolicyMaker& make);
  [[nodiscard]] Status addDomains();
  void start();
  void handle(const Event& e);
  void push(Event::Kind kind, Ns at, uint32_t target, uint64_t gen = 0);
  void mix(uint64_t x);
  void reportProgress(const ProgressFn& progress, unsigned& nextTenth);

  // The pCPU loop (Simulator.cpp).
  void requestReschedule(unsigned pcpu);
  void onReschedule(unsigned pcpu);
  void onSliceEnd(unsigned pcpu, uint64_t gen);
  void onTick(unsigned pcpu);
  void released(SchedVcpu& v);
  void tryClaim(unsigned pcpu);
  void startOn(unsigned pcpu, SchedVcpu* v, Ns slice);
  void running(SchedVcpu& v, unsigned pcpu);

  // Workloads (SimulatorWorkloads.cpp).
  VcpuSim& simOf(const SchedVcpu& v) { return vcpus_[domains_[v.domid - 1].firstVcpu + v.id]; }
  void startProgress(VcpuSim& s, Ns from);
  void stopProgress(VcpuSim& s);
  void makeRunnable(VcpuSim& s, bool measure);
  void makeBlocked(VcpuSim& s, Phase phase);
  void onBurstEnd(uint32_t vcpu, uint64_t gen);
  void onIoWake(uint32_t vcpu);
  void onTaskStart(uint32_t domain);
  void startSerial(DomainSim& d);
  void serialTaskDone(DomainSim& d, VcpuSim& v0);
  void flushHints(VcpuSim& s);
  bool allFiniteDone() const { return config_.stopWhenDone && finiteDomains_ > 0 && doneDomains_ == finiteDomains_; }
  void chunkDone(VcpuSim& s);
  void layerComplete(DomainSim& d, VcpuSim& last);
  void taskComplete(DomainSim& d, VcpuSim& last);
  Ns chunkFor(const DomainSim& d, uint32_t vcpuId);
  void hint(VcpuSim& s, WorkHint h);
  void onPause(uint32_t domain, bool pause);

  // Results (SimulatorReport.cpp).
  SimReport buildReport(double wallSeconds);
  DomainReport domainReport(const DomainSim& d, uint32_t domid);

  const SimConfig config_;
  Signal signal_;
  std::unique_ptr<Scheduler> sched_;
  TimedPolicy* timer_ = nullptr;  ///< the policy wrapper, owned by sched_
  EventQueue queue_;
  std::mt19937_64 rng_;
  Ns now_ = 0;
  bool ran_ = false;
  std::vector<VcpuSim> vcpus_;
  std::vector<PcpuSim> pcpus_;
  std::vector<DomainSim> domains_;
  unsigned awaitingCount_ = 0;
  uint64_t events_ = 0;
  uint64_t contextSwitches_ = 0;
  uint64_t hintErrors_ = 0;
  uint64_t hintsSent_[3] = {0, 0, 0};
  unsigned finiteDomains_ = 0;  ///< domains with a finite number of parallel tasks
  unsigned doneDomains_ = 0;    ///< of those, finished
  Ns end_ = 0;                  ///< when the run stopped
  std::string firstHintError_;
  uint64_t hash_ = 14695981039346656037ull;  // FNV-1a offset basis
};

}  // namespace smartvm::sched::sim
