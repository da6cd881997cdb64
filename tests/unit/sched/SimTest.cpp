// The simulator driving a predictable policy: round-robin shares, runstate
// accounting, I/O blocking, wake-up latency, barrier tasks checked against
// hand-computed completion times, determinism, and errors it must refuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "smartvm/sched/ParallelPolicy.h"
#include "smartvm/sched/sim/Simulator.h"
#include "SimRun.h"

namespace smartvm::sched::sim {
namespace {

constexpr Ns kMs = kNsPerMs;

/// Test double, not a real policy: one global FIFO, fixed 10 ms slices, the
/// runner goes to the back; a wake-up tickles one idle pCPU. Weights are
/// stored and reported but do not change anything. Counts work hints and can lend pCPUs away, so the
/// parallel policy can sit on top of it.
class SimFifoTestPolicy final : public SchedPolicy {
 public:
  /// What the double saw, kept outside it: the simulator owns (and frees) the policy.
  struct Counters {
    int hints[3] = {0, 0, 0};  ///< by WorkHint: ConcurrentBegin, ConcurrentEnd, LayerDone
    uint64_t ticks = 0;
    bool livelock = false;  ///< misbehave: every decision tickles the next pCPU
  };
  explicit SimFifoTestPolicy(SchedHost& host, Counters* counters = nullptr)
      : host_(host), counters_(counters != nullptr ? counters : &own_), idle_(host.pcpuCount(), true),
        available_(host.pcpuCount(), true) {}
  std::string_view name() const override { return "sim-fifo-test"; }
  void insertDomain(SchedDomain&) override {}
  void removeDomain(SchedDomain&) override {}
  void insertVcpu(SchedVcpu&) override {}
  void removeVcpu(SchedVcpu& v) override { std::erase(queue_, &v); }
  void sleep(SchedVcpu& v, Ns) override { std::erase(queue_, &v); }
  void wake(SchedVcpu& v, Ns) override {
    if (std::find(queue_.begin(), queue_.end(), &v) == queue_.end()) queue_.push_back(&v);
    for (unsigned p = 0; p < idle_.size(); ++p) {
      if (!idle_[p] || !available_[p]) continue;
      idle_[p] = false;  // one wake-up, one pCPU
      host_.tickle(p);
      return;
    }
  }
  void yield(SchedVcpu&) override {}
  Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns) override {
    if (prev != nullptr && prevRunnable) queue_.push_back(prev);
    Decision d;
    idle_[pcpu] = true;
    if (counters_->livelock) host_.tickle((pcpu + 1) % host_.pcpuCount());
    if (!available_[pcpu]) return d;
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (!(*it)->hardAffinity.test(pcpu)) continue;
      d.next = *it;
      d.slice = kSlice;
      queue_.erase(it);
      idle_[pcpu] = false;
      return d;
    }
    return d;
  }
  unsigned pickCpu(const SchedVcpu& v) override { return v.pcpu >= 0 ? static_cast<unsigned>(v.pcpu) : 0; }
  Status setPcpuAvailable(unsigned pcpu, bool available) override {
    available_[pcpu] = available;
    host_.tickle(pcpu);
    return Status::ok();
  }
  Ns tickPeriod() const override { return 10 * kMs; }
  void tick(unsigned, Ns) override { ++counters_->ticks; }
  Status workHint(SchedVcpu&, WorkHint h, Ns) override {
    ++counters_->hints[static_cast<int>(h)];
    return Status::ok();
  }
  Result<Params> domainParams(const SchedDomain& d) const override {
    auto it = weights_.find(&d);
    return Params{{"weight", it == weights_.end() ? 256 : it->second}};
  }
  Status setDomainParams(SchedDomain& d, const Params& p) override {
    for (const auto& [k, v] : p)
      if (k != "weight") return error(EINVAL, "unknown parameter " + k);
    if (p.count("weight") != 0) weights_[&d] = p.at("weight");
    return Status::ok();
  }
  Params globalParams() const override { return {}; }
  Status setGlobalParams(const Params& p) override {
    return p.empty() ? Status::ok() : error(EINVAL, "unknown parameter " + p.begin()->first);
  }
  void dump(std::ostream& out) const override { out << queue_.size() << " queued\n"; }

  static constexpr Ns kSlice = 10 * kMs;

 private:
  SchedHost& host_;
  Counters own_;
  Counters* counters_;
  std::deque<SchedVcpu*> queue_;
  std::vector<bool> idle_;
  std::vector<bool> available_;
  std::map<const SchedDomain*, int64_t> weights_;
};

/// Builds the test double with counters that outlive it.
struct Fifo {
  SimFifoTestPolicy::Counters seen;
  bool built = false;
  Simulator::PolicyMaker maker() {
    return [this](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
      built = true;
      return std::unique_ptr<SchedPolicy>(std::make_unique<SimFifoTestPolicy>(h, &seen));
    };
  }
};

DomainSpec domain(Workload w, unsigned vcpus = 1) {
  DomainSpec d;
  d.workload = std::move(w);
  d.vcpus = vcpus;
  return d;
}

SimConfig machine(unsigned pcpus, Ns duration) {
  SimConfig c;
  c.pcpus = pcpus;
  c.duration = duration;
  return c;
}

SimReport runWith(const SimConfig& c, const Simulator::PolicyMaker& make) { return test::runSim(c, make); }

SimReport runFifo(const SimConfig& c) {
  Fifo f;
  return runWith(c, f.maker());
}

Workload barrierTask(unsigned layers, std::vector<Ns> chunks) {
  Workload w = Workload::parallel(layers, chunks.front(), 1);
  w.chunks = std::move(chunks);
  return w;
}

/// An I/O domain, a CPU-bound one and a parallel one, on exponential draws.
SimConfig mixed(uint64_t seed) {
  SimConfig c = machine(2, 300 * kMs);
  c.seed = seed;
  c.domains.push_back(domain(Workload::io(Distribution::exponential(kMs), Distribution::exponential(3 * kMs)), 2));
  c.domains.push_back(domain(Workload::cpuBound(), 2));
  Workload par = Workload::parallel(4, 2 * kMs, 0);
  par.chunkJitter = 0.5;
  par.taskGap = 3 * kMs;
  c.domains.push_back(domain(par, 3));
  return c;
}

TEST(Sim, FifoRoundRobinGivesCpuBoundVcpusEqualSharesOnOnePcpu) {
  SimConfig c = machine(1, 2000 * kMs);
  for (int i = 0; i < 4; ++i) c.domains.push_back(domain(Workload::cpuBound()));
  const SimReport r = runFifo(c);
  ASSERT_EQ(r.domains.size(), 4u);
  for (const DomainReport& d : r.domains) {
    EXPECT_NEAR(d.share, 0.25, 0.25 * 0.01) << d.name;
    ASSERT_TRUE(d.target.has_value());
    EXPECT_DOUBLE_EQ(*d.target, 0.25);
  }
  ASSERT_TRUE(r.weightShareError.has_value());
  EXPECT_LT(*r.weightShareError, 0.01);
  EXPECT_EQ(r.contextSwitches, 2000u / 10u) << "one switch per 10 ms slice";
}

TEST(Sim, WeightShareErrorExposesAPolicyThatIgnoresWeights) {
  SimConfig c = machine(1, 1000 * kMs);
  c.domains = {domain(Workload::cpuBound()), domain(Workload::cpuBound())};
  c.domains[0].params["weight"] = 256;
  c.domains[1].params["weight"] = 768;
  const SimReport r = runFifo(c);
  // Round-robin splits 50/50 where the weights ask for 25/75: the lighter
  // domain gets twice its target, a relative error of 100%.
  EXPECT_EQ(r.domains[1].weight, 768);
  EXPECT_DOUBLE_EQ(r.domains[0].target.value_or(0), 0.25);
  EXPECT_DOUBLE_EQ(r.domains[1].target.value_or(0), 0.75);
  EXPECT_NEAR(r.domains[0].share, 0.5, 0.005);
  EXPECT_NEAR(r.weightShareError.value_or(0), 1.0, 0.02);
}

TEST(Sim, BlockedIoVcpuAccruesBlockedTimeNotRunningTime) {
  SimConfig c = machine(1, 1000 * kMs);
  c.domains.push_back(domain(Workload::io(Distribution::fixed(kMs), Distribution::fixed(9 * kMs))));
  const SimReport r = runFifo(c);
  ASSERT_EQ(r.domains.size(), 1u);
  const Runstate& rs = r.domains[0].vcpuRunstates.at(0);
  EXPECT_EQ(rs.running, 100 * kMs);  // 1 ms of every 10
  EXPECT_EQ(rs.blocked, 900 * kMs);
  EXPECT_EQ(rs.runnable, 0);
  EXPECT_EQ(r.domains[0].wakeLatency.count, 99u) << "the wake at exactly 1 s is not simulated";
  EXPECT_EQ(r.domains[0].wakeLatency.max, 0) << "an idle pCPU takes a woken vCPU at once";
}

TEST(Sim, WakeLatencyIsTheRestOfTheRunningSlice) {
  // 1 pCPU: the I/O vCPU runs 1 ms, blocks 4 ms, and then waits for the
  // CPU-bound vCPU's 10 ms slice (which began when it blocked) to end: 6 ms.
  SimConfig c = machine(1, 500 * kMs);
  c.domains.push_back(domain(Workload::io(Distribution::fixed(kMs), Distribution::fixed(4 * kMs))));
  c.domains.push_back(domain(Workload::cpuBound()));
  const SimReport r = runFifo(c);
  EXPECT_GT(r.wakeLatency.count, 40u);
  EXPECT_EQ(r.wakeLatency.p50, 6 * kMs);
  EXPECT_EQ(r.wakeLatency.p99, 6 * kMs);
  EXPECT_EQ(r.wakeLatency.max, 6 * kMs);
}

TEST(Sim, BarrierTaskWaitsForTheSlowestVcpuOfEachLayer) {
  // 2 pCPUs, chunks of 2 and 6 ms: each layer lasts 6 ms, 3 layers = 18 ms.
  SimConfig c = machine(2, 100 * kMs);
  c.domains.push_back(domain(barrierTask(3, {2 * kMs, 6 * kMs}), 2));
  Fifo f;
  const SimReport r = runWith(c, f.maker());
  ASSERT_EQ(r.domains[0].taskTimes, std::vector<Ns>{18 * kMs});
  const Runstate& fast = r.domains[0].vcpuRunstates.at(0);
  EXPECT_EQ(fast.running, 6 * kMs);
  EXPECT_EQ(fast.blocked, 12 * kMs) << "4 ms at each of 3 barriers";
  EXPECT_EQ(fast.offline, 100 * kMs - 18 * kMs) << "done after the task";
  EXPECT_EQ(f.seen.hints[0], 2) << "ConcurrentBegin per vCPU";
  EXPECT_EQ(f.seen.hints[2], 6) << "LayerDone per vCPU and layer";
  EXPECT_EQ(f.seen.hints[1], 2) << "ConcurrentEnd per vCPU";
  EXPECT_EQ(r.hintErrors, 0u);
}

TEST(Sim, BarrierTaskOnOnePcpuRunsTheChunksInTurnAndPaysSwitches) {
  SimConfig c = machine(1, 100 * kMs);
  c.domains.push_back(domain(barrierTask(3, {4 * kMs, 4 * kMs}), 2));
  EXPECT_EQ(runFifo(c).domains[0].taskTimes, std::vector<Ns>{24 * kMs});
  // With a 1 ms switch: v0 1..5, v1 6..10 then on 10..14, v0 15..19 then on
  // 19..23, v1 24..28: four switches (the first from idle).
  c.switchCost = kMs;
  const SimReport r = runFifo(c);
  EXPECT_EQ(r.domains[0].taskTimes, std::vector<Ns>{28 * kMs});
  EXPECT_EQ(r.contextSwitches, 4u);
}

TEST(Sim, ConfiguredConcurrentDomainGetsLayerHintsButNoBeginOrEnd) {
  SimConfig c = machine(2, 100 * kMs);
  c.domains.push_back(domain(barrierTask(2, {kMs, kMs}), 2));
  c.domains[0].work = WorkType::Concurrent;
  Fifo f;
  const SimReport r = runWith(c, f.maker());
  EXPECT_EQ(r.domains[0].taskTimes, std::vector<Ns>{2 * kMs});
  EXPECT_EQ(f.seen.hints[0] + f.seen.hints[1], 0);
  EXPECT_EQ(f.seen.hints[2], 4);
}

TEST(Sim, RunstateTimesSumToTheElapsedTimeForEveryVcpu) {
  SimConfig c = mixed(7);
  c.domains[1].pauses = {{50 * kMs, 40 * kMs}, {60 * kMs, 10 * kMs}};  // nested: one 40 ms pause
  const SimReport r = runFifo(c);
  for (const DomainReport& d : r.domains) {
    for (size_t v = 0; v < d.vcpuRunstates.size(); ++v) {
      const Runstate& s = d.vcpuRunstates[v];
      EXPECT_EQ(s.running + s.runnable + s.blocked + s.paused + s.offline, c.duration) << d.name << " v" << v;
    }
  }
  Ns running = 0;
  for (const DomainReport& d : r.domains) running += d.total.running;
  EXPECT_LE(running, c.pcpus * c.duration) << "never more vCPUs running than pCPUs";
  EXPECT_GT(running, c.pcpus * c.duration * 9 / 10) << "CPU-bound work keeps the pCPUs busy";
  EXPECT_EQ(r.domains[1].vcpuRunstates[0].paused, 40 * kMs);
  EXPECT_GT(r.domains[0].total.blocked, 0);
  EXPECT_FALSE(r.domains[2].taskTimes.empty());
}

TEST(Sim, SameSeedSameRunDifferentSeedDifferentRun) {
  const SimReport a = runFifo(mixed(1));
  const SimReport b = runFifo(mixed(1));
  const SimReport c = runFifo(mixed(2));
  EXPECT_EQ(a.traceHash, b.traceHash);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.domains[0].total.running, b.domains[0].total.running);
  EXPECT_EQ(a.domains[2].taskTimes, b.domains[2].taskTimes);
  EXPECT_NE(a.traceHash, c.traceHash);
  EXPECT_NE(a.domains[2].taskTimes, c.domains[2].taskTimes);
}

TEST(Sim, YieldingVcpusHandThePcpuOverAtEachYield) {
  SimConfig c = machine(1, 100 * kMs);
  Workload spin = Workload::cpuBound();
  spin.yieldEvery = kMs;
  c.domains = {domain(spin), domain(spin)};
  const SimReport r = runFifo(c);
  EXPECT_EQ(r.contextSwitches, 100u) << "a switch per 1 ms yield, not per 10 ms slice";
  EXPECT_EQ(r.domains[0].total.running, 50 * kMs);
}

TEST(Sim, TicksEveryPeriodOnEveryPcpu) {
  SimConfig c = machine(4, 100 * kMs);
  c.domains.push_back(domain(Workload::cpuBound()));
  Fifo f;
  (void)runWith(c, f.maker());
  EXPECT_EQ(f.seen.ticks, 4u * 10u) << "10 ms period, staggered starts inside the first period";
}

TEST(Sim, ProgressIsReportedOncePerTenth) {
  Fifo f;
  auto sim = Simulator::create(mixed(3), f.maker());
  ASSERT_TRUE(sim.isOk());
  std::vector<unsigned> seen;
  ASSERT_TRUE((*sim)->run([&seen](unsigned p) { seen.push_back(p); }).isOk());
  EXPECT_EQ(seen, (std::vector<unsigned>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
  EXPECT_EQ((*sim)->run().status().code(), EALREADY);
}

TEST(Sim, ParallelPolicyOverTheTestDoubleCompletesTasksWithoutRefusedHints) {
  SimConfig c = mixed(5);
  auto make = [](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
    return makeParallelPolicy(h, std::make_unique<SimFifoTestPolicy>(h));
  };
  const SimReport r = runWith(c, make);
  EXPECT_EQ(r.policy, "parallel");
  EXPECT_EQ(r.hintErrors, 0u) << r.firstHintError;
  EXPECT_GT(r.domains[2].taskTimes.size(), 5u);
  for (const DomainReport& d : r.domains)
    for (const Runstate& s : d.vcpuRunstates)
      EXPECT_EQ(s.running + s.runnable + s.blocked + s.paused + s.offline, c.duration);
}

TEST(Sim, APolicyThatReschedulesWithoutEndIsStopped) {
  SimConfig c = machine(2, 10 * kMs);
  c.domains.push_back(domain(Workload::cpuBound()));
  Fifo f;
  f.seen.livelock = true;
  auto sim = Simulator::create(c, f.maker());
  ASSERT_TRUE(sim.isOk());
  auto r = (*sim)->run();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ELOOP);
  EXPECT_NE(r.status().message().find("t = 0 ns"), std::string::npos) << r.status().message();
}

TEST(Sim, ParametersThePolicyRefusesFailCreationNamingTheDomain) {
  SimConfig c = machine(1, 10 * kMs);
  c.domains = {domain(Workload::cpuBound()), domain(Workload::cpuBound())};
  c.domains[1].name = "web";
  c.domains[1].params["cap"] = 50;
  Fifo f;
  auto sim = Simulator::create(c, f.maker());
  ASSERT_FALSE(sim.isOk());
  EXPECT_EQ(sim.status().code(), EINVAL);
  EXPECT_NE(sim.status().message().find("domains[1] (web)"), std::string::npos) << sim.status().message();
  EXPECT_NE(sim.status().message().find("cap"), std::string::npos);

  c.domains[1].params.clear();
  c.globalParams["tslice_ms"] = 5;
  sim = Simulator::create(c, f.maker());
  ASSERT_FALSE(sim.isOk());
  EXPECT_NE(sim.status().message().find("globalParams"), std::string::npos) << sim.status().message();
}

TEST(Sim, BadConfigIsRefusedBeforeThePolicyIsBuilt) {
  SimConfig c = machine(0, 10 * kMs);
  c.domains.push_back(domain(Workload::cpuBound()));
  Fifo f;
  auto sim = Simulator::create(c, f.maker());
  ASSERT_FALSE(sim.isOk());
  EXPECT_EQ(sim.status().code(), EINVAL);
  EXPECT_EQ(sim.status().message().rfind("pcpus:", 0), 0u) << sim.status().message();
  EXPECT_FALSE(f.built);
}

TEST(Sim, UnknownRegisteredPolicyListsTheKnownOnes) {
  SimConfig c = machine(1, 10 * kMs);
  c.domains.push_back(domain(Workload::cpuBound()));
  auto sim = Simulator::create(c, "no-such-policy");
  ASSERT_FALSE(sim.isOk());
  EXPECT_EQ(sim.status().code(), ENOENT);
  EXPECT_NE(sim.status().message().find("known:"), std::string::npos) << sim.status().message();
  EXPECT_NE(sim.status().message().find("parallel"), std::string::npos);
}

}  // namespace
}  // namespace smartvm::sched::sim
