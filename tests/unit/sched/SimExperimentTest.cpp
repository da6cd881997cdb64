// The experiment scenario: its config is what it claims (per VM 2 serial then
// 4 parallel tasks of the job's shape), the hints arrive in the guest's order
// and from running vCPUs, tasks complete under credit and parallel, and a seed
// fixes the result. The reductions themselves are reported, not asserted.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "smartvm/sched/ForwardingPolicy.h"
#include "smartvm/sched/sim/Experiment.h"
#include "smartvm/sched/sim/Scenario.h"
#include "smartvm/sched/sim/Simulator.h"
#include "SimRun.h"

namespace smartvm::sched::sim {
namespace {

/// One work hint as the policy saw it.
struct SeenHint {
  uint32_t domid;
  uint32_t vcpu;
  WorkHint hint;
  bool running;  ///< the vCPU was on a pCPU when it sent it
  Ns at;
};

/// Forwards everything to a registered policy and records the work hints.
class RecordingPolicy final : public ForwardingPolicy {
 public:
  RecordingPolicy(std::unique_ptr<SchedPolicy> inner, std::vector<SeenHint>* log)
      : ForwardingPolicy(std::move(inner)), log_(log) {}
  Status workHint(SchedVcpu& v, WorkHint hint, Ns now) override {
    log_->push_back({v.domid, v.id, hint, v.running, now});
    return inner().workHint(v, hint, now);
  }

 private:
  std::vector<SeenHint>* log_;
};

SimReport runRecorded(const SimConfig& c, const char* policy, std::vector<SeenHint>& log) {
  auto make = [policy, &log](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
    auto p = PolicyRegistry::builtin().create(policy, h);
    if (!p.isOk()) return p.status();
    return std::unique_ptr<SchedPolicy>(std::make_unique<RecordingPolicy>(std::move(p).value(), &log));
  };
  return test::runSim(c, make);
}

ExperimentSpec spec(ExperimentJob job, unsigned vms, unsigned pcpus) {
  ExperimentSpec s;
  s.job = job;
  s.vms = vms;
  s.pcpus = pcpus;
  return s;
}

TEST(SimExperiment, EachVmRunsTwoSerialThenFourParallelTasksOfTheJobsShape) {
  auto c = makeExperiment(spec(ExperimentJob::Rc4, 4, 2));
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->pcpus, 2u);
  EXPECT_TRUE(c->stopWhenDone);
  ASSERT_EQ(c->domains.size(), 4u);
  const JobShape& rc4 = jobShape(ExperimentJob::Rc4);
  const unsigned expectVcpus[] = {2, 3, 4, 2};
  for (size_t i = 0; i < 4; ++i) {
    const DomainSpec& d = c->domains[i];
    EXPECT_EQ(d.vcpus, expectVcpus[i]) << "VMs of 2 to 4 vCPUs";
    EXPECT_EQ(d.work, WorkType::Common) << "phases come from hints, not the config";
    const Workload& w = d.workload;
    EXPECT_EQ(w.kind, Workload::Kind::Parallel);
    EXPECT_EQ(w.serialTasks, 2u);
    EXPECT_EQ(w.serialWork, kExperimentSerialWork);
    EXPECT_EQ(w.tasks, 4u);
    EXPECT_EQ(w.taskGap, 0);
    EXPECT_TRUE(w.guestHints);
    EXPECT_EQ(w.layers, rc4.layers);
    EXPECT_EQ(w.chunk, rc4.layerWork / d.vcpus) << "a layer's work is split over the vCPUs";
    EXPECT_DOUBLE_EQ(w.chunkJitter, rc4.jitter);
  }
  std::set<std::pair<unsigned, Ns>> shapes;
  for (const JobShape& j : experimentJobs()) shapes.insert({j.layers, j.layerWork});
  EXPECT_EQ(shapes.size(), 4u) << "four distinct job shapes";
  EXPECT_EQ(makeExperiment(spec(ExperimentJob::Dot, 0, 2)).status().code(), EINVAL);
  EXPECT_EQ(parseJob("nbody").value(), ExperimentJob::Nbody);
  EXPECT_EQ(parseJob("lu").status().code(), EINVAL);
}

TEST(SimExperiment, ScenarioKnobsBuildTheSameConfig) {
  ScenarioKnobs k;
  ASSERT_TRUE(parseScenario("experiment").isOk());
  k.kind = *parseScenario("experiment");
  k.job = ExperimentJob::Pi;
  k.domains = 8;
  k.pcpus = 4;
  auto c = makeScenario(k);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->domains.size(), 8u);
  EXPECT_EQ(c->pcpus, 4u);
  EXPECT_EQ(c->domains[0].workload.layers, jobShape(ExperimentJob::Pi).layers);
  k.weights = {512};
  EXPECT_EQ(makeScenario(k).status().code(), EINVAL);
}

TEST(SimExperiment, HintsArriveInTheGuestsOrderFromRunningVcpusAfterTheSerialTasks) {
  for (const char* policy : {"credit", "parallel"}) {
    SCOPED_TRACE(policy);
    auto c = makeExperiment(spec(ExperimentJob::Dot, 2, 4));
    ASSERT_TRUE(c.isOk());
    std::vector<SeenHint> log;
    const SimReport r = runRecorded(*c, policy, log);
    EXPECT_EQ(r.hintErrors, 0u) << r.firstHintError;
    const unsigned layers = jobShape(ExperimentJob::Dot).layers;
    std::map<std::pair<uint32_t, uint32_t>, std::vector<WorkHint>> perVcpu;
    for (const SeenHint& h : log) {
      const DomainReport& d = r.domains.at(h.domid - 1);
      Ns serialEnd = 0;
      for (Ns t : d.serialTimes) serialEnd += t;
      EXPECT_GE(h.at, serialEnd) << "no hint during the serial tasks";
      // A guest sends every hint from the vCPU itself; only the End of the
      // very last task comes from vCPUs waiting at the final barrier.
      const bool lastEnd = h.hint == WorkHint::ConcurrentEnd && h.at == d.doneAt;
      if (!lastEnd) {
        EXPECT_TRUE(h.running) << "d" << h.domid << "v" << h.vcpu << " at " << h.at;
      }
      perVcpu[{h.domid, h.vcpu}].push_back(h.hint);
    }
    std::vector<WorkHint> want;
    for (unsigned t = 0; t < kExperimentParallelTasks; ++t) {
      want.push_back(WorkHint::ConcurrentBegin);
      for (unsigned l = 0; l < layers; ++l) want.push_back(WorkHint::LayerDone);
      want.push_back(WorkHint::ConcurrentEnd);
    }
    EXPECT_EQ(perVcpu.size(), 5u) << "every vCPU of both VMs (2 + 3)";
    for (const auto& [who, hints] : perVcpu) EXPECT_EQ(hints, want) << "d" << who.first << "v" << who.second;
    EXPECT_EQ(r.hints[0], 5u * 4u);
    EXPECT_EQ(r.hints[2], 5u * 4u * layers);
  }
}

TEST(SimExperiment, SerialTasksRunOnVcpuZeroAloneWhileTheOthersWaitBlocked) {
  auto c = makeExperiment(spec(ExperimentJob::Pi, 1, 2));
  ASSERT_TRUE(c.isOk());
  c->domains[0].workload.tasks = 1;
  c->domains[0].workload.layers = 1;
  c->domains[0].workload.chunkJitter = 0;
  auto sim = Simulator::create(*c, "credit");
  ASSERT_TRUE(sim.isOk());
  auto r = (*sim)->run();
  ASSERT_TRUE(r.isOk());
  const DomainReport& d = r->domains[0];
  // Alone on 2 pCPUs: 2 x 20 ms serial, then one layer of 30 ms / 2 vCPUs.
  EXPECT_EQ(d.serialTimes, (std::vector<Ns>{kExperimentSerialWork, kExperimentSerialWork}));
  EXPECT_EQ(d.taskTimes, std::vector<Ns>{15 * kNsPerMs});
  EXPECT_EQ(d.doneAt, 55 * kNsPerMs);
  EXPECT_EQ(r->duration, 55 * kNsPerMs) << "the run stops when every VM is done";
  EXPECT_EQ(d.vcpuRunstates[0].running, 55 * kNsPerMs);
  EXPECT_EQ(d.vcpuRunstates[1].running, 15 * kNsPerMs);
  EXPECT_EQ(d.vcpuRunstates[1].blocked, 40 * kNsPerMs) << "waits for vCPU 0's serial tasks";
}

TEST(SimExperiment, ParallelTasksCompleteUnderBothPolicies) {
  // Guest-order hints, and the older all-at-once hints on an overcommitted host.
  ExperimentSpec eager = spec(ExperimentJob::Nbody, 4, 2);
  eager.guestHints = false;
  for (const ExperimentSpec& s : {spec(ExperimentJob::Dot, 4, 2), spec(ExperimentJob::Rc4, 2, 4), eager}) {
    auto row = runExperiment(s);
    ASSERT_TRUE(row.isOk()) << row.status().toString();
    for (const ExperimentSide* side : {&row->credit, &row->parallel}) {
      EXPECT_TRUE(side->complete);
      EXPECT_EQ(side->tasks, s.vms * kExperimentParallelTasks);
      EXPECT_EQ(side->serialTasks, s.vms * kExperimentSerialTasks);
      EXPECT_EQ(side->hintErrors, 0u);
      EXPECT_GT(side->meanTaskNs, 0);
      EXPECT_GT(side->makespan, 0);
      EXPECT_GT(side->serialShare, 0);
      EXPECT_LE(side->serialShare, 1.0 + 1e-9);
      EXPECT_LE(side->busy, 1.0 + 1e-9);
    }
    EXPECT_EQ(row->vcpus, s.vms == 4 ? 11u : 5u);
    EXPECT_DOUBLE_EQ(row->target, jobShape(s.job).paperReduction);
  }
}

TEST(SimExperiment, ASeedFixesTheResult) {
  ExperimentSpec s = spec(ExperimentJob::Rc4, 4, 2);
  auto a = runExperiment(s), b = runExperiment(s);
  s.seed = 2;
  auto c = runExperiment(s);
  ASSERT_TRUE(a.isOk() && b.isOk() && c.isOk());
  EXPECT_EQ(a->credit.traceHash, b->credit.traceHash);
  EXPECT_EQ(a->parallel.traceHash, b->parallel.traceHash);
  EXPECT_EQ(a->credit.meanTaskNs, b->credit.meanTaskNs);
  EXPECT_EQ(a->parallel.meanTaskNs, b->parallel.meanTaskNs);
  EXPECT_EQ(a->reduction, b->reduction);
  EXPECT_NE(a->credit.traceHash, c->credit.traceHash) << "rc4's jitter draws differ";
}

}  // namespace
}  // namespace smartvm::sched::sim
