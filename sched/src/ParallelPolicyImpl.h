#pragma once
// The parallel policy's class, shared by its two source files: gang logic
// (ParallelPolicy.cpp) and parameters/dump (ParallelPolicyParams.cpp).
// Private to sched/src; the public face is smartvm/sched/ParallelPolicy.h.
#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "smartvm/sched/ParallelPolicy.h"

namespace smartvm::sched::parallel {

constexpr int64_t kDefaultGangSliceMs = 30;
constexpr int64_t kDefaultGangShare = 80;
constexpr Ns kDefaultWindow = 30 * kNsPerMs;
/// A task in progress renews its batch at each layer's end; while other
/// tasks wait for pCPUs, only for this many gang slices from the start of its
/// turn. Run to completion is what makes gangs beat credit on completion time
/// (tasks of a few hundred ms finish within one turn), the bound is what keeps
/// a task of endless layers from starving the queue.
constexpr Ns kTurnSlices = 16;
/// How long a vCPU that said ConcurrentEnd on its gang pCPU keeps it for a
/// Begin to follow (a guest ends one task and begins the next in a few us).
constexpr Ns kEndGrace = 1 * kNsPerMs;

/// Per-vCPU state, in a side table: the common policy owns SchedVcpu::priv.
struct VcpuInfo {
  bool concurrent = false;  ///< part of its domain's task
  bool runnable = false;    ///< as the framework last said (wake/sleep)
  bool layerDone = false;   ///< finished its part of the task's current layer
  int gangPcpu = -1;        ///< the pCPU lent to it, or -1
  /// Said ConcurrentEnd while running on its gang pCPU, which it keeps until
  /// that pCPU decides again: a Begin before then (the guest's next task)
  /// continues the task there instead of requeueing it behind every other.
  bool endGrace = false;
  Ns graceEnd = 0;  ///< endGrace: until then
};

/// Per-domain task state.
struct Task {
  bool configuredConcurrent = false;
  std::deque<SchedVcpu*> waiting;  ///< runnable concurrent vCPUs without a pCPU, FIFO
  Ns batchEnd = 0;                 ///< the current batch runs until then
  Ns turnEnd = 0;                  ///< renewals while others wait stop here
  bool queued = false;             ///< in queue_
  bool inProgress = false;         ///< in active_: a batch or layer is under way
};

class ParallelPolicy final : public SchedPolicy {
 public:
  ParallelPolicy(SchedHost& host, std::unique_ptr<SchedPolicy> common)
      : host_(host),
        common_(std::move(common)),
        gangOn_(host.pcpuCount(), nullptr),
        gangSince_(host.pcpuCount(), 0),
        commonOn_(host.pcpuCount(), nullptr) {}

  std::string_view name() const override { return "parallel"; }

  void insertDomain(SchedDomain& d) override {
    tasks_[&d].configuredConcurrent = d.configuredWork == WorkType::Concurrent;
    common_->insertDomain(d);
  }
  void removeDomain(SchedDomain& d) override {
    std::erase(queue_, &d);
    std::erase(active_, &d);
    tasks_.erase(&d);
    common_->removeDomain(d);
  }
  void insertVcpu(SchedVcpu& v) override {
    vcpus_[&v].concurrent = v.domain != nullptr && tasks_[v.domain].configuredConcurrent;
    common_->insertVcpu(v);
  }
  void removeVcpu(SchedVcpu& v) override;

  void sleep(SchedVcpu& v, Ns now) override;
  void wake(SchedVcpu& v, Ns now) override;
  void yield(SchedVcpu& v) override {
    // A gang member keeps its pCPU for the batch: yielding (a barrier spin)
    // would only hand it to common work and break the co-scheduling.
    if (!info(v).concurrent && !info(v).endGrace) common_->yield(v);
  }

  Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) override;
  unsigned pickCpu(const SchedVcpu& v) override;

  Ns tickPeriod() const override { return common_->tickPeriod(); }
  void tick(unsigned pcpu, Ns now) override;
  Status workHint(SchedVcpu& v, WorkHint hint, Ns now) override;

  Result<Params> domainParams(const SchedDomain& d) const override;
  Status setDomainParams(SchedDomain& d, const Params& p) override;
  Params globalParams() const override;
  Status setGlobalParams(const Params& p) override;
  void dump(std::ostream& out) const override;

 private:
  VcpuInfo& info(const SchedVcpu& v) { return vcpus_[&v]; }
  Task& task(const SchedVcpu& v) { return tasks_[v.domain]; }

  void beginConcurrent(SchedVcpu& v, Ns now);
  void endConcurrent(SchedVcpu& v, Ns now);
  void layerDone(SchedVcpu& v, Ns now);
  bool addWaiting(SchedVcpu& v);
  void toWaiting(SchedVcpu& v);
  void leaveWaiting(SchedVcpu& v);
  void lend(unsigned pcpu, SchedVcpu& v, Ns now);
  void giveBack(unsigned pcpu, Ns now);
  void expireBatch(SchedDomain* d, Ns now);
  Ns budgetLeft(Ns now);
  void endBatchIfIdle(SchedDomain* d, Ns now);
  void retireExpired(Ns now);
  bool advanceLayerIfComplete(SchedDomain* d, Ns now);
  void startNextLayer(SchedDomain* d, Ns now, bool freshBatch);
  void endGraceOf(SchedVcpu& v, Ns now);
  void dispatch(Ns now);
  bool startFromQueue(Ns now);
  void fill(SchedDomain* d, Ns now);
  bool othersQueued(const SchedDomain* d) const;
  int freePcpuFor(const SchedVcpu& v) const;
  unsigned freePcpus() const;
  bool gangBudgetLeft(Ns now);
  void rollWindow(Ns now);
  Ns window() const;

  SchedHost& host_;
  std::unique_ptr<SchedPolicy> common_;
  std::unordered_map<const SchedVcpu*, VcpuInfo> vcpus_;
  std::unordered_map<const SchedDomain*, Task> tasks_;
  std::deque<SchedDomain*> queue_;    ///< tasks waiting for pCPUs, FIFO
  std::vector<SchedDomain*> active_;  ///< tasks in progress, served first
  std::vector<SchedVcpu*> gangOn_;    ///< per pCPU: the gang vCPU lent it
  std::vector<Ns> gangSince_;         ///< per pCPU: gang time counted from here
  std::vector<SchedVcpu*> commonOn_;  ///< per pCPU: the common policy's last choice
  Ns gangSlice_ = kDefaultGangSliceMs * kNsPerMs;
  int64_t gangShare_ = kDefaultGangShare;
  Ns windowEnd_ = 0;
  Ns gangUsed_ = 0;
  size_t commonRunnable_ = 0;
};


}  // namespace smartvm::sched::parallel
