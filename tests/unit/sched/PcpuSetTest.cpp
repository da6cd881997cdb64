// PcpuSet with real threads standing in for vCPU threads (no KVM): at most N
// of them are "in the guest" at once, each on the pCPU it was granted, all
// make progress, and a blocked one stops until woken. Timing bounds are loose:
// they catch a broken hand-over, not a slow host.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "FifoTestPolicy.h"
#include "smartvm/sched/PcpuSet.h"

namespace smartvm::sched {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Ns nowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

/// A thread that calls PcpuSet::reschedule at armed deadlines.
class SliceTimers {
 public:
  SliceTimers(unsigned n, PcpuSet& set) : at_(n), set_(set), thread_([this] { loop(); }) {
    for (auto& a : at_) a = INT64_MAX;
  }
  ~SliceTimers() {
    stop_ = true;
    thread_.join();
  }
  void arm(unsigned p, Ns at) { at_[p] = at; }

 private:
  void loop() {
    while (!stop_) {
      for (unsigned p = 0; p < at_.size(); ++p) {
        if (nowNs() < at_[p].load()) continue;
        at_[p] = INT64_MAX;
        set_.reschedule(p);
      }
      std::this_thread::sleep_for(200us);
    }
  }
  std::vector<std::atomic<Ns>> at_;
  PcpuSet& set_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

thread_local SchedVcpu* tlsVcpu = nullptr;
thread_local int tlsPinned = -1;

/// N pCPUs, a scheduler over the FIFO test policy, and fake vCPU threads that
/// "run the guest" by spinning until kicked or 300 us passed.
class Rig : public PcpuSignal {
 public:
  explicit Rig(unsigned pcpus)
      : set_(pcpus, PcpuSet::Hooks{[this](SchedVcpu& v) { kicked_[&v]->store(true); },
                                   [this](unsigned p, Ns at) { timers_->arm(p, at); },
                                   [](unsigned p) { tlsPinned = static_cast<int>(p); },
                                   [] { return tlsVcpu; }, nullptr}) {
    auto s = Scheduler::createWith(
        [](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
          return std::unique_ptr<SchedPolicy>(std::make_unique<test::FifoTestPolicy>(h));
        },
        pcpus, nowNs, set_);
    EXPECT_TRUE(s.isOk());
    sched_ = std::move(s).value();
    set_.attach(*sched_);
    timers_ = std::make_unique<SliceTimers>(pcpus, set_);
  }
  ~Rig() override {
    set_.stop();
    for (auto& t : threads_) t.join();
    timers_.reset();
  }
  void reschedule(unsigned) override {}

  /// Adds a one-vCPU domain and starts its thread (not yet runnable).
  SchedVcpu* addVcpu(uint32_t domid) {
    EXPECT_TRUE(sched_->addDomain(domid, "d", 1).isOk());
    SchedVcpu* v = sched_->vcpu(domid, 0);
    kicked_[v] = std::make_unique<std::atomic<bool>>(false);
    work_[v] = std::make_unique<std::atomic<Ns>>(0);
    threads_.emplace_back([this, v] { vcpuLoop(v); });
    return v;
  }
  Scheduler& sched() { return *sched_; }
  Ns work(SchedVcpu* v) { return work_[v]->load(); }
  int maxInGuest() const { return maxInGuest_.load(); }
  int pinMismatches() const { return pinMismatch_.load(); }

 private:
  void vcpuLoop(SchedVcpu* v) {
    tlsVcpu = v;
    for (;;) {
      auto p = set_.waitForPcpu(*v);
      if (!p) return;
      if (tlsPinned != static_cast<int>(*p)) ++pinMismatch_;
      const int in = ++inGuest_;
      int m = maxInGuest_.load();
      while (in > m && !maxInGuest_.compare_exchange_weak(m, in)) {
      }
      const Ns t0 = nowNs();
      while (!kicked_[v]->load() && nowNs() - t0 < 300 * kNsPerUs) {
      }
      kicked_[v]->store(false);
      *work_[v] += nowNs() - t0;
      --inGuest_;
      set_.checkpoint(*v);
    }
  }

  PcpuSet set_;
  std::unique_ptr<Scheduler> sched_;
  std::unique_ptr<SliceTimers> timers_;
  std::map<SchedVcpu*, std::unique_ptr<std::atomic<bool>>> kicked_;
  std::map<SchedVcpu*, std::unique_ptr<std::atomic<Ns>>> work_;
  std::vector<std::thread> threads_;
  std::atomic<int> inGuest_{0}, maxInGuest_{0}, pinMismatch_{0};
};

TEST(PcpuSet, FourVcpuThreadsShareTwoPcpusNeverMoreThanTwoAtOnce) {
  Rig r(2);
  std::vector<SchedVcpu*> vs;
  for (uint32_t d = 1; d <= 4; ++d) vs.push_back(r.addVcpu(d));
  for (uint32_t d = 1; d <= 4; ++d) ASSERT_TRUE(r.sched().wake(d, 0).isOk());
  std::this_thread::sleep_for(400ms);
  EXPECT_LE(r.maxInGuest(), 2) << "more vCPUs in the guest than pCPUs";
  EXPECT_EQ(r.maxInGuest(), 2) << "both pCPUs were used";
  EXPECT_EQ(r.pinMismatches(), 0) << "a thread ran without being pinned to its pCPU";
  // Fair share is 200 ms each over 400 ms; ask for a fraction of it.
  for (SchedVcpu* v : vs) EXPECT_GT(r.work(v), 20 * kNsPerMs) << "d" << v->domid << " starved";
}

// A thread with no vCPU of its own (here the test's) decides an idle pCPU,
// hands it to A, and is asked again before it is done (B woke): it decides
// again and gives the slot to B. A must not have entered the guest in
// between, or A and B run on one pCPU until A's next exit.
TEST(PcpuSet, AVcpuDoesNotEnterWhileAnotherThreadStillDecidesItsPcpu) {
  std::atomic<int> inGuest{0}, maxInGuest{0}, armed{0};
  std::atomic<bool> stop{false};
  std::map<const SchedVcpu*, std::unique_ptr<std::atomic<bool>>> kicked;
  std::map<const SchedVcpu*, std::unique_ptr<std::atomic<int>>> entries;
  std::unique_ptr<Scheduler> sched;
  PcpuSet set(1, PcpuSet::Hooks{[&](SchedVcpu& v) { kicked[&v]->store(true); },
                                [&](unsigned, Ns) {
                                  // Called by the decider right after a grant:
                                  // the first time, B wakes (the pCPU must
                                  // decide again) and A's thread gets time to
                                  // take the slot up if it may.
                                  if (armed++ != 0) return;
                                  ASSERT_TRUE(sched->wake(2, 0).isOk());
                                  std::this_thread::sleep_for(30ms);
                                },
                                nullptr, [] { return tlsVcpu; }, nullptr});
  auto s = Scheduler::createWith(
      [](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
        return std::unique_ptr<SchedPolicy>(std::make_unique<test::FifoTestPolicy>(h));
      },
      1, nowNs, set);
  ASSERT_TRUE(s.isOk());
  sched = std::move(s).value();
  set.attach(*sched);
  std::vector<std::thread> threads;
  for (uint32_t d = 1; d <= 2; ++d) {
    ASSERT_TRUE(sched->addDomain(d, "d", 1).isOk());
    SchedVcpu* v = sched->vcpu(d, 0);
    kicked[v] = std::make_unique<std::atomic<bool>>(false);
    entries[v] = std::make_unique<std::atomic<int>>(0);
  }
  for (uint32_t d = 1; d <= 2; ++d) {
    SchedVcpu* v = sched->vcpu(d, 0);
    threads.emplace_back([&, v] {
      tlsVcpu = v;
      while (set.waitForPcpu(*v)) {
        ++*entries[v];
        const int in = ++inGuest;
        int m = maxInGuest.load();
        while (in > m && !maxInGuest.compare_exchange_weak(m, in)) {
        }
        const Ns t0 = nowNs();
        while (!kicked[v]->load() && !stop && nowNs() - t0 < 60 * kNsPerMs) {
        }
        kicked[v]->store(false);
        --inGuest;
        (void)set.checkpoint(*v);
      }
    });
  }
  SchedVcpu* a = sched->vcpu(1, 0);
  SchedVcpu* b = sched->vcpu(2, 0);
  ASSERT_TRUE(sched->wake(1, 0).isOk());  // this thread decides the idle pCPU
  std::this_thread::sleep_for(50ms);
  stop = true;
  set.stop();
  for (auto& t : threads) t.join();
  EXPECT_EQ(maxInGuest.load(), 1) << "two vCPUs in the guest on one pCPU";
  EXPECT_GE(armed.load(), 2) << "the pCPU was decided again";
  EXPECT_GE(entries[b]->load(), 1) << "B, chosen last, ran";
  EXPECT_EQ(entries[a]->load(), 0) << "A was moved on before it took the slot up";
}

TEST(PcpuSet, ABlockedVcpuStopsAndAWokenOneResumes) {
  Rig r(1);
  SchedVcpu* a = r.addVcpu(1);
  SchedVcpu* b = r.addVcpu(2);
  ASSERT_TRUE(r.sched().wake(1, 0).isOk());
  ASSERT_TRUE(r.sched().wake(2, 0).isOk());
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(r.sched().block(1, 0).isOk());
  std::this_thread::sleep_for(30ms);  // its pCPU lets go at the next checkpoint
  const Ns a0 = r.work(a), b0 = r.work(b);
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(r.work(a), a0) << "a blocked vCPU ran";
  EXPECT_GT(r.work(b) - b0, 50 * kNsPerMs) << "the other one had the pCPU to itself";
  ASSERT_TRUE(r.sched().wake(1, 0).isOk());
  std::this_thread::sleep_for(150ms);
  EXPECT_GT(r.work(a), a0 + 10 * kNsPerMs) << "woken, it runs again";
}

TEST(PcpuSet, AWaitingVcpuReachesTheWaitingHook) {
  int calls = 0;
  PcpuSet set(1, PcpuSet::Hooks{[](SchedVcpu&) {}, [](unsigned, Ns) {}, nullptr, [] { return nullptr; },
                                [&calls] { ++calls; }});
  auto s = Scheduler::createWith(
      [](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
        return std::unique_ptr<SchedPolicy>(std::make_unique<test::FifoTestPolicy>(h));
      },
      1, [] { return Ns{0}; }, set);
  ASSERT_TRUE(s.isOk());
  set.attach(**s);
  ASSERT_TRUE((*s)->addDomain(1, "d", 1).isOk());
  EXPECT_EQ(calls, 0) << "an offline vCPU waits for nothing";
  ASSERT_TRUE((*s)->wake(1, 0).isOk());
  EXPECT_EQ(calls, 1);
  PcpuSet bare(1, PcpuSet::Hooks{[](SchedVcpu&) {}, [](unsigned, Ns) {}, nullptr, [] { return nullptr; }, nullptr});
  bare.waiting();  // no hook: nothing happens
}

TEST(PcpuSet, InterruptEndsOneWaitOnly) {
  PcpuSet set(1, PcpuSet::Hooks{[](SchedVcpu&) {}, [](unsigned, Ns) {}, nullptr, [] { return nullptr; }, nullptr});
  SchedVcpu v;
  set.interrupt(v);  // before the wait: the next wait returns at once
  EXPECT_EQ(set.waitForPcpu(v), std::nullopt);
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    (void)set.waitForPcpu(v);
    returned = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load()) << "one interrupt, one ended wait";
  set.interrupt(v);
  waiter.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(set.pcpuOf(v), -1);
}

TEST(PcpuSet, StopReleasesWaitingThreads) {
  auto r = std::make_unique<Rig>(1);
  (void)r->addVcpu(1);  // never runnable: its thread waits for a pCPU
  const auto t0 = Clock::now();
  r.reset();            // stop() + join: must not hang
  EXPECT_LT(Clock::now() - t0, 5s);
}

}  // namespace
}  // namespace smartvm::sched
