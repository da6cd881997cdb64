// The credit policy step by step on a fake clock: credit burning and
// accounting, priorities and boost, ratelimit, yield, caps, work stealing,
// placement, lending pCPUs, parameters and the dump. The test plays the
// framework by hand (SimCreditTest.cpp runs it for long stretches).
// Credits and priorities are read back from dump(), Xen's 'r' debug key.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "FakeSchedHost.h"
#include "smartvm/sched/CreditPolicy.h"
#include "smartvm/sched/ParallelPolicy.h"

namespace smartvm::sched {
namespace {

constexpr Ns ms(double v) { return static_cast<Ns>(v * static_cast<double>(kNsPerMs)); }
constexpr Ns us(int64_t v) { return v * kNsPerUs; }

/// What dump() says about one vCPU.
struct VcpuView {
  int pri = 0;
  std::string priName;
  int cpu = -1;
  int64_t credit = 0;
  std::string flags;  ///< " active parked yield migrating asleep", those that apply
};

std::string dumpOf(const SchedPolicy& p) {
  std::ostringstream out;
  p.dump(out);
  return out.str();
}

std::optional<VcpuView> viewOf(const SchedPolicy& p, const SchedVcpu& v) {
  const std::string s = dumpOf(p);
  const std::string domains = s.substr(s.find("domains:"));
  const std::regex re("\\[" + std::to_string(v.domid) + "\\." + std::to_string(v.id) +
                      "\\] pri=(-?\\d+) \\((\\w+)\\) cpu=(-?\\d+) credit=(-?\\d+) \\[w=\\d+,cap=\\d+\\]([^\\n]*)");
  std::smatch m;
  if (!std::regex_search(domains, m, re)) return std::nullopt;
  return VcpuView{std::stoi(m[1]), m[2], std::stoi(m[3]), std::stoll(m[4]), m[5]};
}

/// The vCPUs waiting on `cpu`'s runqueue, in order, as "dom.vcpu".
std::vector<std::string> runqOf(const SchedPolicy& p, unsigned cpu) {
  const std::string s = dumpOf(p);
  char head[16];
  std::snprintf(head, sizeof head, "CPU[%02u]", cpu);
  size_t pos = s.find(head);
  const size_t end = std::min(s.find("CPU[", pos + 1), s.find("domains:"));
  std::vector<std::string> out;
  const std::regex re("\\t +\\d+: \\[(\\d+\\.\\d+)\\]");
  const std::string part = s.substr(pos, end - pos);
  for (std::sregex_iterator it(part.begin(), part.end(), re), e; it != e; ++it) out.push_back((*it)[1]);
  return out;
}

/// Domains, vCPUs and pCPUs over a credit policy; the test moves the clock
/// and calls schedule()/tick() where the framework would.
class Rig {
 public:
  explicit Rig(unsigned pcpus) : host(pcpus), policy(makeCreditPolicy(host)), on(pcpus, nullptr) {}

  SchedDomain& addDomain(unsigned nvcpus, const Params& params = {}) {
    auto d = std::make_unique<SchedDomain>();
    d->domid = static_cast<uint32_t>(domains.size() + 1);
    d->name = "dom" + std::to_string(d->domid);
    policy->insertDomain(*d);
    for (unsigned i = 0; i < nvcpus; ++i) {
      auto v = std::make_unique<SchedVcpu>();
      v->domid = d->domid;
      v->id = i;
      v->domain = d.get();
      d->vcpus.push_back(v.get());
      policy->insertVcpu(*v);
      vcpus.push_back(std::move(v));
    }
    if (!params.empty()) {
      const Status s = policy->setDomainParams(*d, params);
      EXPECT_TRUE(s.isOk()) << s.toString();
    }
    domains.push_back(std::move(d));
    return *domains.back();
  }

  void at(Ns t) { host.setNow(t); }
  Ns now() const { return host.now(); }
  void wake(SchedVcpu& v) {
    v.state = VcpuState::Runnable;
    policy->wake(v, now());
  }
  void block(SchedVcpu& v) {
    v.state = VcpuState::Blocked;
    policy->sleep(v, now());
  }
  /// The framework's schedule(pcpu): decide, then keep running/pcpu/state.
  Decision schedule(unsigned p) {
    SchedVcpu* prev = on[p];
    const bool prevRunnable =
        prev != nullptr && (prev->state == VcpuState::Running || prev->state == VcpuState::Runnable);
    Decision d = policy->doSchedule(p, prev, prevRunnable, now());
    if (prev != nullptr && prev != d.next) {
      prev->running = false;
      if (prev->state == VcpuState::Running) prev->state = VcpuState::Runnable;
      on[p] = nullptr;
    }
    if (d.next != nullptr) {
      EXPECT_FALSE(d.next->running && d.next->pcpu != static_cast<int>(p)) << "runs on two pCPUs";
      d.next->running = true;
      d.next->pcpu = static_cast<int>(p);
      d.next->state = VcpuState::Running;
      on[p] = d.next;
    }
    return d;
  }
  void tickAll() {
    for (unsigned p = 0; p < host.pcpuCount(); ++p) policy->tick(p, now());
  }
  /// Ticks every pCPU at each tick period in (now, until], moving the clock.
  void tickUntil(Ns until) {
    const Ns period = policy->tickPeriod();
    for (Ns t = (now() / period + 1) * period; t <= until; t += period) {
      at(t);
      tickAll();
    }
    at(until);
  }
  VcpuView view(const SchedVcpu& v) const {
    auto r = viewOf(*policy, v);
    EXPECT_TRUE(r.has_value()) << "d" << v.domid << "v" << v.id << " missing from dump:\n" << dumpOf(*policy);
    return r.value_or(VcpuView{});
  }
  int64_t credit(const SchedVcpu& v) const { return view(v).credit; }

  test::FakeSchedHost host;
  std::unique_ptr<SchedPolicy> policy;
  std::vector<std::unique_ptr<SchedDomain>> domains;
  std::vector<std::unique_ptr<SchedVcpu>> vcpus;
  std::vector<SchedVcpu*> on;  ///< per pCPU: what runs there
};

// ---------------------------------------------------------------- registry and defaults

TEST(CreditPolicy, IsRegisteredWithXensDefaults) {
  test::FakeSchedHost host(2);
  auto p = PolicyRegistry::builtin().create("credit", host);
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  EXPECT_EQ((*p)->name(), "credit");
  EXPECT_EQ((*p)->globalParams(), (Params{{"tslice_ms", 30}, {"ratelimit_us", 1000}}));
  EXPECT_EQ((*p)->tickPeriod(), ms(10)) << "3 ticks per slice";
  SchedDomain d;
  (*p)->insertDomain(d);
  auto dp = (*p)->domainParams(d);
  ASSERT_TRUE(dp.isOk());
  EXPECT_EQ(*dp, (Params{{"weight", 256}, {"cap", 0}}));
  (*p)->removeDomain(d);
  // The parallel policy needs a common-work policy that can lend pCPUs.
  EXPECT_NE(makeParallelPolicy(host), nullptr);
}

TEST(CreditPolicy, TickPeriodIsAThirdOfTheSliceOrTheWholeOfAShortOne) {
  Rig r(1);
  ASSERT_TRUE(r.policy->setGlobalParams({{"tslice_ms", 6}}).isOk());
  EXPECT_EQ(r.policy->tickPeriod(), ms(2));
  ASSERT_TRUE(r.policy->setGlobalParams({{"tslice_ms", 2}, {"ratelimit_us", 500}}).isOk());
  EXPECT_EQ(r.policy->tickPeriod(), ms(2)) << "Xen: one tick per slice under 3 ms";
  EXPECT_EQ(r.policy->globalParams(), (Params{{"tslice_ms", 2}, {"ratelimit_us", 500}}));
}

TEST(CreditPolicy, WorkHintsAreAcceptedAndChangeNothing) {
  Rig r(1);
  SchedVcpu& v = *r.addDomain(1).vcpus[0];
  EXPECT_TRUE(r.policy->workHint(v, WorkHint::ConcurrentBegin, 0).isOk());
  EXPECT_TRUE(r.policy->workHint(v, WorkHint::LayerDone, 0).isOk());
  r.wake(v);
  EXPECT_EQ(r.schedule(0).next, &v);
}

// ---------------------------------------------------------------- burning and accounting

TEST(CreditPolicy, BurnsTenCreditsPerMillisecondToTheNanosecond) {
  Rig r(1);
  SchedVcpu& v = *r.addDomain(1).vcpus[0];
  r.wake(v);
  ASSERT_EQ(r.schedule(0).next, &v);
  // Burn at every 150 us: 1.5 credits each time. Dropping the fraction at
  // each burn would cost 1 credit per burn instead.
  for (int i = 1; i <= 7; ++i) {
    r.at(us(150) * i);
    r.policy->tick(0, r.now());
  }
  EXPECT_EQ(r.credit(v), -10) << "1.05 ms run";
  for (int i = 8; i <= 20; ++i) {
    r.at(us(150) * i);
    r.policy->tick(0, r.now());
  }
  EXPECT_EQ(r.credit(v), -30) << "3 ms run";
}

/// One pCPU; A (weight 256) and B (512) each run past a tick, so both take
/// part in accounting, and neither runs when it comes.
TEST(CreditPolicy, AccountingHandsOutCreditByWeight) {
  Rig r(1);
  SchedVcpu& a = *r.addDomain(1, {{"weight", 256}}).vcpus[0];
  SchedVcpu& b = *r.addDomain(1, {{"weight", 512}}).vcpus[0];
  r.wake(a);
  r.wake(b);
  ASSERT_EQ(r.schedule(0).next, &a);
  r.tickUntil(ms(15));
  ASSERT_EQ(r.schedule(0).next, &b);
  r.tickUntil(ms(25));
  r.block(b);
  ASSERT_EQ(r.schedule(0).next, &a);
  r.at(ms(27));
  r.block(a);
  ASSERT_EQ(r.schedule(0).next, nullptr);
  const int64_t a0 = r.credit(a), b0 = r.credit(b);
  EXPECT_EQ(a0, -170);  // ran 0-15 and 25-27 ms
  EXPECT_EQ(b0, -100);  // ran 15-25 ms
  r.tickUntil(ms(30));  // accounting: 300 credits (one pCPU, one slice)
  EXPECT_EQ(r.credit(a) - a0, 100);
  EXPECT_EQ(r.credit(b) - b0, 200);
  EXPECT_EQ(r.view(a).priName, "OVER");
  EXPECT_EQ(r.view(b).priName, "UNDER");
  EXPECT_NE(dumpOf(*r.policy).find("credit_balance=30 weight=768"), std::string::npos) << dumpOf(*r.policy);
}

TEST(CreditPolicy, AVcpuEarnsAtMostOneSliceAndGoesIdleAfterASliceUnused) {
  Rig r(2);
  SchedVcpu& v = *r.addDomain(1).vcpus[0];
  r.wake(v);
  ASSERT_EQ(r.schedule(0).next, &v);
  r.tickUntil(ms(15));
  r.block(v);
  ASSERT_EQ(r.schedule(0).next, nullptr);
  EXPECT_EQ(r.credit(v), -150);
  r.tickUntil(ms(30));
  // Two pCPUs' worth (600) is on offer, but one vCPU can use one pCPU at most.
  EXPECT_EQ(r.credit(v), 150);
  EXPECT_NE(r.view(v).flags.find("active"), std::string::npos);
  r.tickUntil(ms(60));
  // 450 is more than a slice's worth: it stops earning and keeps half.
  EXPECT_EQ(r.credit(v), 225);
  EXPECT_EQ(r.view(v).flags.find("active"), std::string::npos);
  r.tickUntil(ms(90));
  EXPECT_EQ(r.credit(v), 225) << "an idle vCPU earns nothing";
}

TEST(CreditPolicy, WeightChangesCountForActiveVcpusAtOnce) {
  Rig r(1);
  SchedDomain& d = r.addDomain(2);
  r.wake(*d.vcpus[0]);
  ASSERT_EQ(r.schedule(0).next, d.vcpus[0]);
  r.tickUntil(ms(10));  // vCPU 0 is active now, vCPU 1 never ran
  EXPECT_NE(dumpOf(*r.policy).find(" weight=256 "), std::string::npos);
  ASSERT_TRUE(r.policy->setDomainParams(d, {{"weight", 1000}}).isOk());
  EXPECT_NE(dumpOf(*r.policy).find(" weight=1000 "), std::string::npos) << dumpOf(*r.policy);
  auto p = r.policy->domainParams(d);
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(p->at("weight"), 1000);
}

// ---------------------------------------------------------------- priorities

TEST(CreditPolicy, BoostOnWakePreemptsAnUnderHogUntilItsNextTick) {
  Rig r(1);
  SchedVcpu& hog = *r.addDomain(1).vcpus[0];
  SchedVcpu& io = *r.addDomain(1).vcpus[0];
  r.wake(hog);
  ASSERT_EQ(r.schedule(0).next, &hog);
  r.tickUntil(ms(12));
  EXPECT_EQ(r.view(hog).priName, "UNDER") << "its first tick ended the hog's own wake boost";
  r.host.clearTickles();
  r.wake(io);
  EXPECT_EQ(r.view(io).priName, "BOOST");
  EXPECT_EQ(r.host.takeTickled(), std::vector<unsigned>{0});
  EXPECT_EQ(r.schedule(0).next, &io);
  EXPECT_EQ(runqOf(*r.policy, 0), std::vector<std::string>{"1.0"});
  r.tickUntil(ms(20));
  EXPECT_EQ(r.view(io).priName, "UNDER");
}

TEST(CreditPolicy, ABoostedWakerDoesNotPreemptABoostedRunner) {
  Rig r(1);
  SchedVcpu& a = *r.addDomain(1).vcpus[0];
  SchedVcpu& b = *r.addDomain(1).vcpus[0];
  r.wake(a);
  ASSERT_EQ(r.schedule(0).next, &a);
  r.at(ms(5));
  r.host.clearTickles();
  r.wake(b);
  EXPECT_EQ(r.view(b).priName, "BOOST");
  EXPECT_FALSE(r.host.tickled(0)) << "equal priority: b waits its turn";
  EXPECT_EQ(runqOf(*r.policy, 0), std::vector<std::string>{"2.0"});
}

TEST(CreditPolicy, RatelimitKeepsAJustStartedVcpuOn) {
  Rig r(1);
  SchedVcpu& hog = *r.addDomain(1).vcpus[0];
  SchedVcpu& io = *r.addDomain(1).vcpus[0];
  r.wake(hog);
  ASSERT_EQ(r.schedule(0).next, &hog);
  r.tickUntil(ms(10));  // hog: UNDER
  r.at(ms(30));
  ASSERT_EQ(r.schedule(0).next, &hog) << "alone: slice renewed, same run";
  r.at(ms(30) + us(5));
  r.wake(io);
  ASSERT_TRUE(r.host.tickled(0));
  // The hog has been running for 30 ms: no ratelimit, io preempts it.
  ASSERT_EQ(r.schedule(0).next, &io);
  r.at(ms(30) + us(300));
  r.block(io);
  ASSERT_EQ(r.schedule(0).next, &hog);
  r.at(ms(30) + us(600));
  r.wake(io);
  Decision d = r.schedule(0);
  EXPECT_EQ(d.next, &hog) << "the hog has run only 300 us of its 1000 us ratelimit";
  EXPECT_EQ(d.slice, us(700));
  r.at(ms(31) + us(300));
  EXPECT_EQ(r.schedule(0).next, &io);
}

TEST(CreditPolicy, RatelimitDoesNotHoldAYieldingOrBlockedVcpuOrWhenOff) {
  Rig r(1);
  SchedVcpu& a = *r.addDomain(1).vcpus[0];
  SchedVcpu& b = *r.addDomain(1).vcpus[0];
  r.wake(a);
  r.wake(b);
  ASSERT_EQ(r.schedule(0).next, &a);
  r.at(us(200));
  r.policy->yield(a);
  EXPECT_EQ(r.schedule(0).next, &b) << "yield";
  r.at(us(400));
  r.block(b);
  EXPECT_EQ(r.schedule(0).next, &a) << "block";
  r.wake(b);
  ASSERT_TRUE(r.policy->setGlobalParams({{"ratelimit_us", 0}}).isOk());
  r.at(us(500));
  EXPECT_EQ(r.schedule(0).next, &b) << "ratelimit 0: b (queued first at the same priority) goes";
}

TEST(CreditPolicy, YieldGoesBehindItsPriority) {
  Rig r(1);
  SchedDomain& d = r.addDomain(3);
  for (SchedVcpu* v : d.vcpus) r.wake(*v);
  ASSERT_EQ(r.schedule(0).next, d.vcpus[0]);
  r.at(ms(2));
  r.policy->yield(*d.vcpus[0]);
  EXPECT_EQ(r.schedule(0).next, d.vcpus[1]);
  EXPECT_EQ(runqOf(*r.policy, 0), (std::vector<std::string>{"1.2", "1.0"}));
  EXPECT_EQ(r.view(*d.vcpus[0]).flags.find("yield"), std::string::npos) << "one yield, one requeue";
}

/// Xen puts a yielding vCPU behind one vCPU of lower priority too, so an
/// UNDER vCPU that yields lets an OVER one run.
TEST(CreditPolicy, YieldLetsALowerPriorityVcpuRunOnce) {
  Rig r(1);
  SchedVcpu& light = *r.addDomain(1, {{"weight", 1}}).vcpus[0];
  SchedVcpu& heavy = *r.addDomain(1, {{"weight", 65535}}).vcpus[0];
  r.wake(light);
  ASSERT_EQ(r.schedule(0).next, &light);
  r.wake(heavy);
  r.tickUntil(ms(12));  // light active
  ASSERT_EQ(r.schedule(0).next, &heavy);
  r.tickUntil(ms(30));  // heavy active; accounting
  ASSERT_EQ(r.view(light).priName, "OVER");
  ASSERT_EQ(r.view(heavy).priName, "UNDER");
  r.at(ms(31));
  ASSERT_EQ(r.schedule(0).next, &heavy) << "UNDER before OVER";
  r.policy->yield(heavy);
  EXPECT_EQ(r.schedule(0).next, &light);
  EXPECT_EQ(runqOf(*r.policy, 0), std::vector<std::string>{"2.0"});
}

// ---------------------------------------------------------------- caps

/// A capped hog alone on a pCPU: 150 credits per slice for cap 50, 300 burnt
/// per slice. Parked when its debt passes 150 at an accounting, unparked when
/// an accounting brings it back to 0 or more.
TEST(CreditPolicy, CapParksAnOverspentVcpuUntilAccountingRepaysIt) {
  Rig r(1);
  SchedVcpu& v = *r.addDomain(1, {{"cap", 50}}).vcpus[0];
  r.wake(v);
  ASSERT_EQ(r.schedule(0).next, &v);
  r.tickUntil(ms(50));
  EXPECT_EQ(r.credit(v), -350);
  EXPECT_EQ(r.view(v).flags.find("parked"), std::string::npos);
  r.host.clearTickles();
  r.tickUntil(ms(60));  // accounting: -350 + 150 < -150
  EXPECT_NE(r.view(v).flags.find("parked"), std::string::npos);
  EXPECT_TRUE(r.host.tickled(0)) << "its pCPU must take it off";
  EXPECT_EQ(r.schedule(0).next, nullptr);
  EXPECT_EQ(r.credit(v), -300);
  r.tickUntil(ms(90));
  EXPECT_EQ(r.credit(v), -150);
  EXPECT_EQ(r.schedule(0).next, nullptr) << "still in debt";
  r.host.clearTickles();
  r.tickUntil(ms(120));
  EXPECT_EQ(r.credit(v), 0);
  EXPECT_EQ(r.view(v).flags.find("parked"), std::string::npos);
  EXPECT_TRUE(r.host.tickled(0));
  EXPECT_EQ(r.schedule(0).next, &v);
  EXPECT_EQ(r.view(v).priName, "UNDER") << "unparking is no wake-up from block: no boost";
}

TEST(CreditPolicy, AParkedVcpuThatBlocksAndWakesStaysParked) {
  Rig r(1);
  SchedVcpu& v = *r.addDomain(1, {{"cap", 50}}).vcpus[0];
  r.wake(v);
  ASSERT_EQ(r.schedule(0).next, &v);
  r.tickUntil(ms(60));
  ASSERT_EQ(r.schedule(0).next, nullptr);
  r.block(v);
  r.wake(v);
  EXPECT_EQ(r.schedule(0).next, nullptr);
  EXPECT_NE(r.view(v).flags.find("parked"), std::string::npos);
  r.tickUntil(ms(120));
  EXPECT_EQ(r.schedule(0).next, &v);
}

// ---------------------------------------------------------------- placement and stealing

TEST(CreditPolicy, PickCpuPrefersAnIdlePcpuThenTheLastOneWithinHardAffinity) {
  Rig r(4);
  SchedDomain& busy = r.addDomain(4);
  SchedVcpu& v = *r.addDomain(1).vcpus[0];
  v.pcpu = 2;
  EXPECT_EQ(r.policy->pickCpu(v), 2u) << "its last pCPU idles";
  r.wake(*busy.vcpus[2]);
  ASSERT_EQ(r.schedule(2).next, busy.vcpus[2]);
  EXPECT_EQ(r.policy->pickCpu(v), 3u) << "the next idle pCPU after its last one";
  v.hardAffinity.reset();
  v.hardAffinity.set(1);
  EXPECT_EQ(r.policy->pickCpu(v), 1u);
  for (unsigned p : {0u, 1u, 3u}) {
    r.wake(*busy.vcpus[p]);
    ASSERT_EQ(r.schedule(p).next, busy.vcpus[p]);
  }
  v.hardAffinity.set();
  EXPECT_EQ(r.policy->pickCpu(v), 2u) << "nothing idles: its last pCPU";
  v.hardAffinity.reset();
  v.hardAffinity.set(0);
  v.hardAffinity.set(1);
  EXPECT_EQ(r.policy->pickCpu(v), 0u) << "its last pCPU is not allowed";
}

TEST(CreditPolicy, WakeQueuesOnAnIdlePcpuAndTicklesIt) {
  Rig r(2);
  SchedDomain& d = r.addDomain(2);
  r.wake(*d.vcpus[0]);
  EXPECT_EQ(r.host.takeTickled(), std::vector<unsigned>{0});
  r.wake(*d.vcpus[1]);
  EXPECT_EQ(r.host.takeTickled(), std::vector<unsigned>{1}) << "pCPU 0 is spoken for";
  EXPECT_EQ(r.schedule(1).next, d.vcpus[1]);
  EXPECT_EQ(r.schedule(0).next, d.vcpus[0]);
}

/// Three vCPUs on two pCPUs: the third waits on pCPU 0. When pCPU 1's vCPU
/// blocks, pCPU 1 steals it, unless it is pinned to pCPU 0.
class CreditSteal : public ::testing::TestWithParam<bool> {};

TEST_P(CreditSteal, AnIdlePcpuStealsQueuedWorkWithinHardAffinity) {
  const bool pinned = GetParam();
  Rig r(2);
  SchedDomain& d = r.addDomain(3);
  SchedVcpu& c = *d.vcpus[2];
  if (pinned) {
    c.hardAffinity.reset();
    c.hardAffinity.set(0);
  }
  for (SchedVcpu* v : d.vcpus) r.wake(*v);
  ASSERT_EQ(r.schedule(0).next, d.vcpus[0]);
  ASSERT_EQ(r.schedule(1).next, d.vcpus[1]);
  ASSERT_EQ(runqOf(*r.policy, 0), std::vector<std::string>{"1.2"});
  r.at(ms(5));
  r.block(*d.vcpus[1]);
  Decision dec = r.schedule(1);
  if (pinned) {
    EXPECT_EQ(dec.next, nullptr);
    EXPECT_EQ(runqOf(*r.policy, 0), std::vector<std::string>{"1.2"});
    EXPECT_NE(dumpOf(*r.policy).find("idlers: 1\n"), std::string::npos) << dumpOf(*r.policy);
  } else {
    EXPECT_EQ(dec.next, &c);
    EXPECT_TRUE(dec.migrated);
    EXPECT_TRUE(runqOf(*r.policy, 0).empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Affinity, CreditSteal, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Pinned" : "Free"; });

TEST(CreditPolicy, APcpuWithUnderWorkDoesNotSteal) {
  Rig r(2);
  SchedDomain& d = r.addDomain(4);
  for (SchedVcpu* v : d.vcpus) r.wake(*v);  // 1.0, 1.2 on pCPU 0; 1.1, 1.3 on pCPU 1
  ASSERT_EQ(runqOf(*r.policy, 0), (std::vector<std::string>{"1.0", "1.2"}));
  ASSERT_EQ(runqOf(*r.policy, 1), (std::vector<std::string>{"1.1", "1.3"}));
  ASSERT_EQ(r.schedule(0).next, d.vcpus[0]);
  ASSERT_EQ(r.schedule(1).next, d.vcpus[1]);
  r.tickUntil(ms(10));  // 1.0 and 1.1: UNDER; 1.2 and 1.3 still BOOST, queued
  r.at(ms(12));
  Decision dec = r.schedule(1);
  EXPECT_EQ(dec.next, d.vcpus[3]) << "its own head is better than OVER: no stealing";
  EXPECT_FALSE(dec.migrated);
}

TEST(CreditPolicy, ARunningVcpuMovesToAnIdlePcpuWhenWorkWaitsBehindIt) {
  Rig r(2);
  SchedDomain& d = r.addDomain(2);
  SchedVcpu& a = *d.vcpus[0];
  SchedVcpu& b = *d.vcpus[1];
  b.hardAffinity.reset();
  b.hardAffinity.set(0);
  r.wake(a);
  ASSERT_EQ(r.schedule(0).next, &a);
  r.tickUntil(ms(10));  // a: active
  r.wake(b);            // pinned behind a; pCPU 1 idles and cannot take b
  r.host.clearTickles();
  r.tickUntil(ms(20));
  EXPECT_NE(r.view(a).flags.find("migrating"), std::string::npos);
  EXPECT_TRUE(r.host.tickled(0));
  ASSERT_EQ(r.schedule(0).next, &b);
  EXPECT_EQ(runqOf(*r.policy, 1), std::vector<std::string>{"1.0"});
  EXPECT_TRUE(r.host.tickled(1));
  Decision dec = r.schedule(1);
  EXPECT_EQ(dec.next, &a);
  EXPECT_TRUE(dec.migrated);
}

// ---------------------------------------------------------------- lending pCPUs

TEST(CreditPolicy, ALentPcpuHandsBackItsWorkAndGetsItBack) {
  Rig r(2);
  SchedDomain& d = r.addDomain(3);
  SchedVcpu& pinned = *d.vcpus[2];
  pinned.hardAffinity.reset();
  pinned.hardAffinity.set(1);
  r.wake(*d.vcpus[1]);
  ASSERT_EQ(r.schedule(1).next, d.vcpus[1]);
  r.wake(*d.vcpus[0]);
  ASSERT_EQ(r.schedule(0).next, d.vcpus[0]);
  r.wake(pinned);
  ASSERT_EQ(runqOf(*r.policy, 1), std::vector<std::string>{"1.2"});
  r.at(ms(3));
  r.host.clearTickles();
  ASSERT_TRUE(r.policy->setPcpuAvailable(1, false).isOk());
  EXPECT_TRUE(r.host.tickled(1)) << "it must hand back what it runs";
  EXPECT_EQ(r.schedule(1).next, nullptr);
  EXPECT_EQ(runqOf(*r.policy, 0), std::vector<std::string>{"1.1"});
  EXPECT_EQ(runqOf(*r.policy, 1), std::vector<std::string>{"1.2"}) << "may run nowhere else";
  EXPECT_EQ(r.policy->pickCpu(*d.vcpus[1]), 0u);
  EXPECT_NE(dumpOf(*r.policy).find("credit=300 "), std::string::npos) << "one pCPU's credit while lent";
  r.host.clearTickles();
  ASSERT_TRUE(r.policy->setPcpuAvailable(1, true).isOk());
  EXPECT_TRUE(r.host.tickled(1));
  EXPECT_EQ(r.schedule(1).next, &pinned);
  EXPECT_EQ(r.policy->setPcpuAvailable(2, false).code(), EINVAL);
}

// ---------------------------------------------------------------- parameters and dump

TEST(CreditPolicy, BadParametersAreRefusedWithEinvalNamingKeyAndRange) {
  Rig r(2);
  SchedDomain& d = r.addDomain(1);
  struct Case {
    Params p;
    std::string mention;
  };
  const std::vector<Case> domainCases = {
      {{{"weight", 0}}, "weight 0 out of range 1..65535"},
      {{{"weight", 65536}}, "weight 65536 out of range 1..65535"},
      {{{"cap", 201}}, "cap 201 out of range 0..200"},
      {{{"cap", -1}}, "cap -1 out of range 0..200"},
      {{{"weight", 512}, {"wieght", 5}}, "'wieght'"},
  };
  for (const Case& c : domainCases) {
    const Status s = r.policy->setDomainParams(d, c.p);
    EXPECT_EQ(s.code(), EINVAL) << c.mention;
    EXPECT_NE(s.message().find(c.mention), std::string::npos) << s.message();
  }
  EXPECT_EQ(r.policy->domainParams(d).value(), (Params{{"weight", 256}, {"cap", 0}})) << "nothing applied";
  EXPECT_TRUE(r.policy->setDomainParams(d, {{"cap", 200}, {"weight", 65535}}).isOk());

  const std::vector<Case> globalCases = {
      {{{"tslice_ms", 0}}, "tslice_ms 0 out of range 1..1000"},
      {{{"tslice_ms", 1001}}, "tslice_ms 1001 out of range 1..1000"},
      {{{"tslice_ms", 5}, {"ratelimit_us", 5001}}, "ratelimit_us 5001 out of range"},
      {{{"tslice_ms", 1}}, "ratelimit_us"},  // 1 ms slice < the 1000 us ratelimit? equal: fine; see below
      {{{"ratelimit_us", 50}}, "ratelimit_us 50 out of range"},
      {{{"ratelimit_us", 600000}}, "ratelimit_us 600000 out of range"},
      {{{"timeslice", 30}}, "'timeslice'"},
  };
  for (const Case& c : globalCases) {
    const Status s = r.policy->setGlobalParams(c.p);
    if (c.p.size() == 1 && c.p.count("tslice_ms") && c.p.at("tslice_ms") == 1) {
      EXPECT_TRUE(s.isOk()) << "a 1 ms slice holds the 1000 us ratelimit exactly";
      ASSERT_TRUE(r.policy->setGlobalParams({{"tslice_ms", 30}}).isOk());
      continue;
    }
    EXPECT_EQ(s.code(), EINVAL) << c.mention;
    EXPECT_NE(s.message().find(c.mention), std::string::npos) << s.message();
  }
  ASSERT_TRUE(r.policy->setGlobalParams({{"ratelimit_us", 5000}}).isOk());
  const Status shrink = r.policy->setGlobalParams({{"tslice_ms", 4}});
  EXPECT_EQ(shrink.code(), EINVAL) << "the ratelimit in force would exceed the new slice";
  EXPECT_EQ(r.policy->globalParams(), (Params{{"tslice_ms", 30}, {"ratelimit_us", 5000}})) << "nothing applied";
  EXPECT_TRUE(r.policy->setGlobalParams({{"tslice_ms", 4}, {"ratelimit_us", 0}}).isOk());
}

TEST(CreditPolicy, DumpShowsRunqueuesAndDomainsLikeXensDebugKey) {
  Rig r(1);
  SchedDomain& d = r.addDomain(2, {{"weight", 512}, {"cap", 20}});
  r.wake(*d.vcpus[0]);
  r.wake(*d.vcpus[1]);
  ASSERT_EQ(r.schedule(0).next, d.vcpus[0]);
  r.tickUntil(ms(10));
  const std::string s = dumpOf(*r.policy);
  EXPECT_NE(s.find("tslice=30ms ratelimit=1000us"), std::string::npos) << s;
  EXPECT_NE(s.find("CPU[00] nr_run=2"), std::string::npos) << s;
  EXPECT_NE(s.find("\trun: [1.0] pri=-1 (UNDER) cpu=0 credit=-100 [w=512,cap=20] active"), std::string::npos) << s;
  EXPECT_NE(s.find("\t  1: [1.1] pri=0 (BOOST)"), std::string::npos) << s;
  EXPECT_NE(s.find("d1 'dom1': weight=512 cap=20 credit=-100 active_vcpus=1"), std::string::npos) << s;
}

TEST(CreditPolicy, RemovedVcpusAndDomainsLeaveNoTrace) {
  Rig r(1);
  SchedDomain& a = r.addDomain(1);
  SchedDomain& b = r.addDomain(1);
  r.wake(*a.vcpus[0]);
  ASSERT_EQ(r.schedule(0).next, a.vcpus[0]);
  r.wake(*b.vcpus[0]);
  r.tickUntil(ms(10));
  r.block(*a.vcpus[0]);
  ASSERT_EQ(r.schedule(0).next, b.vcpus[0]);
  r.policy->removeVcpu(*a.vcpus[0]);
  r.policy->removeDomain(a);
  EXPECT_EQ(a.priv, nullptr);
  const std::string s = dumpOf(*r.policy);
  EXPECT_EQ(s.find("[1.0]"), std::string::npos) << s;
  EXPECT_NE(s.find(" weight=0 "), std::string::npos) << "the removed vCPU's weight is gone: " << s;
  r.tickUntil(ms(30));
  EXPECT_EQ(r.schedule(0).next, b.vcpus[0]);
}

}  // namespace
}  // namespace smartvm::sched
