// The simulator's parts that need no policy: event ordering, config and
// scenario validation (errors name the field or option), the statistics and
// the weight-share targets, and the table renderer.
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "smartvm/sched/sim/EventQueue.h"
#include "smartvm/sched/sim/Scenario.h"
#include "smartvm/sched/sim/SimConfig.h"
#include "smartvm/sched/sim/SimReport.h"

namespace smartvm::sched::sim {
namespace {

constexpr Ns kMs = kNsPerMs;

Event at(Ns t, uint32_t target) {
  Event e;
  e.time = t;
  e.target = target;
  return e;
}

SimConfig oneDomain(Workload w, unsigned vcpus = 1) {
  SimConfig c;
  DomainSpec d;
  d.workload = std::move(w);
  d.vcpus = vcpus;
  c.domains.push_back(d);
  return c;
}

/// The message of validate(c), which must fail with EINVAL.
std::string refusal(const SimConfig& c) {
  Status s = validate(c);
  EXPECT_EQ(s.code(), EINVAL);
  return s.message();
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(SimEventQueue, PopsByTimeAndBreaksTiesByInsertionOrder) {
  EventQueue q;
  q.push(at(5, 0));
  q.push(at(3, 1));
  q.push(at(5, 2));
  q.push(at(1, 3));
  q.push(at(3, 4));
  q.push(at(5, 5));
  std::vector<uint32_t> order;
  while (!q.empty()) order.push_back(q.pop().target);
  EXPECT_EQ(order, (std::vector<uint32_t>{3, 1, 4, 0, 2, 5}));
  EXPECT_EQ(q.pushed(), 6u);
}

TEST(SimEventQueue, ManyEqualTimesComeOutInPushOrder) {
  EventQueue q;
  std::mt19937_64 rng(42);
  for (uint32_t i = 0; i < 1000; ++i) q.push(at(static_cast<Ns>(rng() % 4), i));
  Event prev = q.pop();
  while (!q.empty()) {
    const Event e = q.pop();
    ASSERT_TRUE(e.time > prev.time || (e.time == prev.time && e.target > prev.target));
    prev = e;
  }
}

TEST(SimConfig, ValidConfigPasses) {
  SimConfig c = oneDomain(Workload::io(Distribution::exponential(kMs), Distribution::fixed(kMs)), 4);
  c.pcpus = kMaxPcpus;
  EXPECT_TRUE(validate(c).isOk());
}

TEST(SimConfig, BadMachineOrDurationIsRefusedNamingTheField) {
  SimConfig c = oneDomain(Workload::cpuBound());
  c.pcpus = 0;
  EXPECT_TRUE(startsWith(refusal(c), "pcpus:"));
  c.pcpus = kMaxPcpus + 1;
  EXPECT_TRUE(startsWith(refusal(c), "pcpus:"));
  c.pcpus = 1;
  c.duration = 0;
  EXPECT_TRUE(startsWith(refusal(c), "duration:"));
  c.duration = kMs;
  c.switchCost = -1;
  EXPECT_TRUE(startsWith(refusal(c), "switchCost:"));
  c.switchCost = 0;
  c.domains.clear();
  EXPECT_TRUE(startsWith(refusal(c), "domains:"));
}

TEST(SimConfig, TooManyVcpusAreRefused) {
  SimConfig c = oneDomain(Workload::cpuBound(), kMaxSimVcpus);
  EXPECT_TRUE(validate(c).isOk());
  c.domains.push_back(c.domains[0]);
  c.domains[1].vcpus = 1;
  const std::string m = refusal(c);
  EXPECT_TRUE(startsWith(m, "domains:")) << m;
  EXPECT_NE(m.find("10001"), std::string::npos) << m;
}

TEST(SimConfig, BadWorkloadsAreRefusedNamingTheField) {
  SimConfig c = oneDomain(Workload::io(Distribution::exponential(0), Distribution::fixed(kMs)));
  EXPECT_TRUE(startsWith(refusal(c), "domains[0].workload.run:"));
  c = oneDomain(Workload::parallel(0, kMs, 1), 2);
  EXPECT_TRUE(startsWith(refusal(c), "domains[0].workload.layers:"));
  c.domains[0].workload.layers = 2;
  c.domains[0].workload.chunks = {kMs};
  EXPECT_TRUE(startsWith(refusal(c), "domains[0].workload.chunks:"));
  c.domains[0].workload.chunks.clear();
  c.domains[0].workload.chunkJitter = 1.0;
  EXPECT_TRUE(startsWith(refusal(c), "domains[0].workload.chunkJitter:"));
  c.domains[0].workload.chunkJitter = 0;
  c.domains[0].vcpus = 0;
  EXPECT_TRUE(startsWith(refusal(c), "domains[0].vcpus:"));
  c.domains[0].vcpus = 2;
  c.domains[0].pauses = {{kMs, 0}};
  EXPECT_TRUE(startsWith(refusal(c), "domains[0].pauses:"));
}

TEST(SimConfig, DistributionsDrawTheirMean) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(Distribution::fixed(7).sample(rng), 7);
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const Ns x = Distribution::exponential(kMs).sample(rng);
    ASSERT_GE(x, 1);
    sum += static_cast<double>(x);
  }
  EXPECT_NEAR(sum / n, static_cast<double>(kMs), 0.03 * static_cast<double>(kMs));
}

TEST(SimScenario, DefaultsBuildValidConfigs) {
  for (const char* name : {"fairness", "io", "parallel", "scale"}) {
    auto kind = parseScenario(name);
    ASSERT_TRUE(kind.isOk()) << name;
    ScenarioKnobs k;
    k.kind = *kind;
    auto c = makeScenario(k);
    ASSERT_TRUE(c.isOk()) << name << ": " << c.status().toString();
    EXPECT_TRUE(validate(*c).isOk());
  }
  ScenarioKnobs k;
  k.kind = ScenarioKind::Scale;
  auto c = makeScenario(k);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->pcpus, 256u);
  EXPECT_EQ(totalVcpus(*c), 10000u);
}

TEST(SimScenario, KnobsReachTheConfig) {
  ScenarioKnobs k;
  k.kind = ScenarioKind::Io;
  k.pcpus = 3;
  k.domains = 3;
  k.vcpusPerDomain = 5;
  k.seconds = 0.25;
  k.seed = 99;
  k.weights = {100, 200, 300};
  k.caps = {50};
  auto c = makeScenario(k);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->pcpus, 3u);
  EXPECT_EQ(c->duration, 250 * kMs);
  EXPECT_EQ(c->seed, 99u);
  ASSERT_EQ(c->domains.size(), 3u);
  EXPECT_EQ(c->domains[2].params.at("weight"), 300);
  EXPECT_EQ(c->domains[2].params.at("cap"), 50);
  EXPECT_EQ(c->domains[0].workload.kind, Workload::Kind::Io);
  EXPECT_EQ(c->domains[1].workload.kind, Workload::Kind::CpuBound);
  EXPECT_EQ(c->domains[1].vcpus, 5u);
}

TEST(SimScenario, BadKnobsAreRefusedNamingTheOption) {
  auto refused = [](ScenarioKnobs k) {
    auto c = makeScenario(k);
    EXPECT_FALSE(c.isOk());
    return c.isOk() ? std::string() : c.status().message();
  };
  ScenarioKnobs k;
  k.pcpus = 300;
  EXPECT_TRUE(startsWith(refused(k), "--pcpus:"));
  k = {};
  k.domains = 4;
  k.weights = {1, 2, 3};
  EXPECT_TRUE(startsWith(refused(k), "--weights:"));
  k.weights = {0};
  EXPECT_TRUE(startsWith(refused(k), "--weights:"));
  k = {};
  k.domains = 2000;
  k.vcpusPerDomain = 6;
  EXPECT_TRUE(startsWith(refused(k), "--domains:"));
  k = {};
  k.seconds = -1;
  EXPECT_TRUE(startsWith(refused(k), "--seconds:"));
  k = {};
  k.vcpusPerDomain = 0;
  EXPECT_TRUE(startsWith(refused(k), "--vcpus-per-domain:"));
  auto s = parseScenario("bogus");
  ASSERT_FALSE(s.isOk());
  EXPECT_TRUE(startsWith(s.status().message(), "--scenario:"));
}

TEST(SimScenario, ScaleSweepGrowsToTheFullMachine) {
  ScenarioKnobs k;
  k.kind = ScenarioKind::Scale;
  auto sweep = scaleSweep(k);
  ASSERT_TRUE(sweep.isOk());
  std::vector<unsigned> vcpus;
  for (const SimConfig& c : *sweep) vcpus.push_back(totalVcpus(c));
  EXPECT_EQ(vcpus, (std::vector<unsigned>{150, 620, 2500, 10000}));
}

TEST(SimReport, LatencyPercentilesUseTheNearestRank) {
  std::vector<Ns> v(100);
  std::iota(v.begin(), v.end(), 1);
  std::shuffle(v.begin(), v.end(), std::mt19937_64(3));
  const LatencyStats s = latencyStats(v);
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.p50, 50);
  EXPECT_EQ(s.p90, 90);
  EXPECT_EQ(s.p99, 99);
  EXPECT_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_EQ(latencyStats({}).count, 0u);
}

DomainReport cpuDomain(int64_t weight, unsigned vcpus, Ns running, Ns runnable, int64_t cap = 0) {
  DomainReport d;
  d.workload = Workload::Kind::CpuBound;
  d.weight = weight;
  d.cap = cap;
  d.vcpus = vcpus;
  d.total.running = running;
  d.total.runnable = runnable;
  return d;
}

TEST(SimReport, TargetsSplitByWeightWithinVcpuAndCapLimits) {
  SimReport r;
  r.pcpus = 2;
  r.duration = 1000 * kMs;
  // A (weight 256, 1 vCPU) and B (768, 2 vCPUs) always runnable: 25% / 75%.
  r.domains = {cpuDomain(256, 1, 500 * kMs, 500 * kMs), cpuDomain(768, 2, 1500 * kMs, 500 * kMs)};
  for (DomainReport& d : r.domains) d.share = static_cast<double>(d.total.running) / 2e9;
  computeShareTargets(r);
  EXPECT_DOUBLE_EQ(r.domains[0].target.value(), 0.25);
  EXPECT_DOUBLE_EQ(r.domains[1].target.value(), 0.75);
  EXPECT_NEAR(r.weightShareError.value(), 0.0, 1e-12);
  // Weight 3000 for A: its 1 vCPU limits it to half the machine, B gets the rest.
  r.domains[0].weight = 3000;
  computeShareTargets(r);
  EXPECT_DOUBLE_EQ(r.domains[0].target.value(), 0.5);
  EXPECT_DOUBLE_EQ(r.domains[1].target.value(), 0.5);
  EXPECT_NEAR(r.weightShareError.value(), 0.5, 1e-12);  // A got 0.25 of its 0.5
  // A cap of 40% of a pCPU on B.
  r.domains[0].weight = 256;
  r.domains[1].cap = 40;
  computeShareTargets(r);
  EXPECT_DOUBLE_EQ(r.domains[1].target.value(), 0.2);
  EXPECT_DOUBLE_EQ(r.domains[0].target.value(), 0.5);
}

TEST(SimReport, OtherDomainsUseComesOffTheCapacity) {
  SimReport r;
  r.pcpus = 1;
  r.duration = 1000 * kMs;
  DomainReport io;
  io.workload = Workload::Kind::Io;
  io.total.running = 400 * kMs;
  r.domains = {io, cpuDomain(256, 1, 600 * kMs, 400 * kMs)};
  r.domains[1].share = 0.6;
  computeShareTargets(r);
  EXPECT_FALSE(r.domains[0].target.has_value());
  EXPECT_DOUBLE_EQ(r.domains[1].target.value(), 0.6);
}

TEST(SimReport, TablesRenderAsPaddedMarkdown) {
  Table t{"t", {"a", "bb"}, {{"xyz", "1"}}};
  EXPECT_EQ(renderTable(t), "\n## t\n| a   | bb |\n|-----|----|\n| xyz | 1  |\n");
  EXPECT_EQ(formatNs(850), "850 ns");
  EXPECT_EQ(formatNs(4.56e6), "4.56 ms");
}

}  // namespace
}  // namespace smartvm::sched::sim
