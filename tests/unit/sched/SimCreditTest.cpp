// The registered "credit" and "parallel" policies through the simulator:
// weighted shares, the BOOST of woken I/O vCPUs, gang-scheduled barrier tasks.
// Both are found by name in PolicyRegistry::builtin(), as the CLI finds them.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "smartvm/sched/sim/Scenario.h"
#include "smartvm/sched/sim/Simulator.h"
#include "SimRun.h"

namespace smartvm::sched::sim {
namespace {

constexpr Ns kMs = kNsPerMs;

SimReport run(const SimConfig& c, const std::string& policy) { return test::runSim(c, policy); }

DomainSpec domain(Workload w, unsigned vcpus, int64_t weight) {
  DomainSpec d;
  d.workload = std::move(w);
  d.vcpus = vcpus;
  d.params["weight"] = weight;
  return d;
}

void expectRunstatesSumTo(const SimReport& r, Ns duration) {
  for (const DomainReport& d : r.domains)
    for (const Runstate& s : d.vcpuRunstates)
      EXPECT_EQ(s.running + s.runnable + s.blocked + s.paused + s.offline, duration) << d.name;
}

SimConfig cpuBoundDomains(unsigned pcpus, Ns duration, std::vector<int64_t> weights) {
  SimConfig c;
  c.pcpus = pcpus;
  c.duration = duration;
  for (int64_t w : weights) c.domains.push_back(domain(Workload::cpuBound(), 2, w));
  return c;
}

TEST(SimCredit, EqualWeightsGetEqualShares) {
  const SimConfig c = cpuBoundDomains(2, 3000 * kMs, {256, 256, 256, 256});
  const SimReport r = run(c, "credit");
  ASSERT_TRUE(r.weightShareError.has_value());
  EXPECT_LT(*r.weightShareError, 0.02);
  expectRunstatesSumTo(r, c.duration);
}

TEST(SimCredit, SharesFollowTheWeights) {
  // Weights 1:2:4:8. Credit1 gets there slowly (measured: 35% error after
  // 3 s, 21% after 10 s, 11% after 30 s), so this checks the order and a
  // long run's bound rather than short-run precision.
  const SimConfig c = cpuBoundDomains(2, 30000 * kMs, {128, 256, 512, 1024});
  const SimReport r = run(c, "credit");
  ASSERT_EQ(r.domains.size(), 4u);
  EXPECT_NEAR(r.domains[3].target.value_or(0), 1024.0 / 1920.0, 1e-9);
  for (size_t i = 1; i < r.domains.size(); ++i) EXPECT_GT(r.domains[i].share, 1.5 * r.domains[i - 1].share) << i;
  EXPECT_LT(r.weightShareError.value_or(1), 0.15);
}

TEST(SimCredit, CapLimitsADomainsShare) {
  SimConfig c;
  c.pcpus = 1;
  c.duration = 3000 * kMs;
  c.domains = {domain(Workload::cpuBound(), 1, 256), domain(Workload::cpuBound(), 1, 256)};
  c.domains[0].params["cap"] = 20;
  const SimReport r = run(c, "credit");
  EXPECT_NEAR(r.domains[0].share, 0.20, 0.02);
  EXPECT_NEAR(r.domains[1].share, 0.80, 0.02);
  EXPECT_LT(r.weightShareError.value_or(1), 0.1);
}

TEST(SimCredit, WokenIoVcpuIsBoostedAheadOfACpuHog) {
  // On one pCPU a round-robin policy makes the I/O vCPU wait out the hog's
  // slice (SimTest: 6 ms every time); credit's BOOST runs it at once.
  SimConfig c;
  c.pcpus = 1;
  c.duration = 1000 * kMs;
  c.domains = {domain(Workload::io(Distribution::fixed(kMs), Distribution::fixed(4 * kMs)), 1, 256),
               domain(Workload::cpuBound(), 1, 256)};
  const SimReport r = run(c, "credit");
  EXPECT_GT(r.wakeLatency.count, 100u);
  EXPECT_LT(r.wakeLatency.p90, kMs) << "p99 " << r.wakeLatency.p99;
}

TEST(SimCredit, ParallelPolicyCompletesBarrierTasksWithoutRefusedHints) {
  ScenarioKnobs k;
  k.kind = ScenarioKind::Parallel;
  k.seconds = 0.5;
  auto c = makeScenario(k);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  const SimReport r = run(*c, "parallel");
  EXPECT_EQ(r.hintErrors, 0u) << r.firstHintError;
  for (const DomainReport& d : r.domains) {
    if (d.workload == Workload::Kind::Parallel) {
      EXPECT_GT(d.taskTimes.size(), 3u) << d.name;
    }
  }
  expectRunstatesSumTo(r, c->duration);
}

TEST(SimCredit, SameSeedSameRun) {
  ScenarioKnobs k;
  k.kind = ScenarioKind::Io;
  k.seconds = 0.3;
  auto c = makeScenario(k);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(run(*c, "credit").traceHash, run(*c, "credit").traceHash);
}

// A long randomised mix (CPU hogs, I/O, barrier tasks, pauses, weights from 1
// to 4096, some caps) must leave no vCPU starved: every CPU-bound vCPU gets a
// real part of its fair share and every waiting vCPU is eventually run.
class SimRandomMix : public ::testing::TestWithParam<const char*> {};

TEST_P(SimRandomMix, NoVcpuStarves) {
  std::mt19937_64 rng(7);
  SimConfig c;
  c.pcpus = 6;
  c.duration = 4000 * kMs;
  c.seed = 11;
  for (int i = 0; i < 18; ++i) {
    DomainSpec d;
    d.name = "d" + std::to_string(i + 1);
    d.vcpus = 1 + static_cast<unsigned>(rng() % 4);
    d.params["weight"] = 1 + static_cast<int64_t>(rng() % 4096);
    if (rng() % 5 == 0) d.params["cap"] = 10 + static_cast<int64_t>(rng() % 90);
    switch (i % 3) {
      case 0: d.workload = Workload::cpuBound(); break;
      case 1:
        d.workload = Workload::io(Distribution::exponential(static_cast<Ns>(1 + rng() % 3) * kMs),
                                  Distribution::exponential(static_cast<Ns>(1 + rng() % 10) * kMs));
        break;
      default:
        d.workload = Workload::parallel(4, static_cast<Ns>(1 + rng() % 4) * kMs, 0);
        d.work = WorkType::Concurrent;
        break;
    }
    if (rng() % 4 == 0) d.pauses.push_back({static_cast<Ns>(rng() % 2000) * kMs, 300 * kMs});
    c.domains.push_back(std::move(d));
  }
  const SimReport r = run(c, GetParam());
  ASSERT_EQ(r.domains.size(), c.domains.size());
  expectRunstatesSumTo(r, c.duration);
  EXPECT_EQ(r.hintErrors, 0u) << r.firstHintError;
  int withTarget = 0;
  for (const DomainReport& d : r.domains) {
    for (size_t v = 0; v < d.vcpuRunstates.size(); ++v) {
      const Runstate& s = d.vcpuRunstates[v];
      if (s.runnable > 0) {
        EXPECT_GT(s.running, 0) << d.name << " v" << v << " never ran";
      }
    }
    if (d.target.has_value() && d.vcpus > 0) {
      ++withTarget;
      // A fifth of the weight-share target is far below what either policy
      // gives; a starved vCPU gets nothing at all.
      const double fair = *d.target * static_cast<double>(c.pcpus * c.duration) / d.vcpus;
      for (size_t v = 0; v < d.vcpuRunstates.size(); ++v) {
        EXPECT_GT(static_cast<double>(d.vcpuRunstates[v].running), fair / 5) << d.name << " v" << v;
      }
    }
    if (d.wakeLatency.count > 0) {
      EXPECT_LT(d.wakeLatency.max, 1000 * kMs) << d.name;
    }
  }
  EXPECT_EQ(withTarget, 6) << "every CPU-bound domain has a share target";
}

INSTANTIATE_TEST_SUITE_P(Policies, SimRandomMix, ::testing::Values("credit", "parallel"));

}  // namespace
}  // namespace smartvm::sched::sim
