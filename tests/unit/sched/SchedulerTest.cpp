// The scheduler core on a manual clock: states and runstate times, tickles
// delivered without the lock, hand-over of a vCPU still running elsewhere,
// pinning, and errors for unknown or busy domains.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "FifoTestPolicy.h"
#include "smartvm/sched/Scheduler.h"

namespace smartvm::sched {
namespace {

/// Records reschedule requests; optionally calls back into the scheduler,
/// which deadlocks if the core signals with its lock held.
class RecordingSignal final : public PcpuSignal {
 public:
  void waiting() override { waitings.fetch_add(1); }
  void reschedule(unsigned pcpu) override {
    if (reenter && sched != nullptr) (void)sched->current(pcpu);
    std::lock_guard lk(m);
    got.push_back(pcpu);
  }
  std::vector<unsigned> take() {
    std::lock_guard lk(m);
    return std::exchange(got, {});
  }
  Scheduler* sched = nullptr;
  bool reenter = false;
  std::atomic<int> waitings{0};
  std::mutex m;
  std::vector<unsigned> got;
};

struct Rig {
  explicit Rig(unsigned pcpus, Scheduler::PolicyMaker make = fifo()) {
    auto s = Scheduler::createWith(make, pcpus, [this] { return t.load(); }, signal);
    EXPECT_TRUE(s.isOk()) << s.status().toString();
    sched = std::move(s).value();
    signal.sched = sched.get();
  }
  static Scheduler::PolicyMaker fifo() {
    return [](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
      return std::unique_ptr<SchedPolicy>(std::make_unique<test::FifoTestPolicy>(h));
    };
  }
  std::atomic<Ns> t{0};
  RecordingSignal signal;
  std::unique_ptr<Scheduler> sched;
};

TEST(Scheduler, RunstateTimesFollowTheStatesAndSumToTheElapsedTime) {
  Rig r(1);
  ASSERT_TRUE(r.sched->addDomain(1, "d1", 1).isOk());
  r.t = 2 * kNsPerMs;
  ASSERT_TRUE(r.sched->wake(1, 0).isOk());
  r.t = 3 * kNsPerMs;
  PcpuChoice c = r.sched->schedule(0);
  ASSERT_NE(c.next, nullptr);
  EXPECT_EQ(c.next->domid, 1u);
  EXPECT_EQ(c.next->state, VcpuState::Running);
  EXPECT_EQ(c.slice, 10 * kNsPerMs);
  r.signal.take();
  r.t = 8 * kNsPerMs;
  ASSERT_TRUE(r.sched->block(1, 0).isOk());
  EXPECT_EQ(r.signal.take(), std::vector<unsigned>{0}) << "its pCPU must decide again";
  c = r.sched->schedule(0);
  EXPECT_EQ(c.next, nullptr);
  EXPECT_EQ(r.sched->current(0), nullptr);
  r.t = 11 * kNsPerMs;
  auto rs = r.sched->runstate(1, 0);
  ASSERT_TRUE(rs.isOk());
  EXPECT_EQ(rs->state, VcpuState::Blocked);
  EXPECT_EQ(rs->offline, 2 * kNsPerMs);
  EXPECT_EQ(rs->runnable, 1 * kNsPerMs);
  EXPECT_EQ(rs->running, 5 * kNsPerMs);
  EXPECT_EQ(rs->blocked, 3 * kNsPerMs);
  EXPECT_EQ(rs->offline + rs->runnable + rs->running + rs->blocked + rs->paused, 11 * kNsPerMs);
  EXPECT_EQ(rs->stateEntry, 8 * kNsPerMs) << "when it blocked (Xen's state_entry_time), not when asked";
}

TEST(Scheduler, TwoVcpusOnOnePcpuTakeTurnsAndPauseTakesOneOut) {
  Rig r(1);
  ASSERT_TRUE(r.sched->addDomain(1, "a", 2).isOk());
  ASSERT_TRUE(r.sched->wake(1, 0).isOk());
  ASSERT_TRUE(r.sched->wake(1, 1).isOk());
  EXPECT_EQ(r.sched->schedule(0).next->id, 0u);
  EXPECT_EQ(r.sched->schedule(0).next->id, 1u) << "slice over: the other one";
  EXPECT_EQ(r.sched->schedule(0).next->id, 0u);
  ASSERT_TRUE(r.sched->pause(1, 1).isOk());
  EXPECT_EQ(r.sched->schedule(0).next->id, 0u);
  EXPECT_EQ(r.sched->schedule(0).next->id, 0u) << "the paused one never comes back";
  ASSERT_TRUE(r.sched->wake(1, 1).isOk());
  EXPECT_EQ(r.sched->schedule(0).next->id, 1u);
}

TEST(Scheduler, TicklesAreSignalledWithoutTheLockHeld) {
  Rig r(2);
  r.signal.reenter = true;  // deadlocks here if the core signals under its lock
  ASSERT_TRUE(r.sched->addDomain(1, "d", 1).isOk());
  auto done = std::async(std::launch::async, [&] { return r.sched->wake(1, 0).isOk(); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(done.get());
  EXPECT_EQ(r.signal.take(), (std::vector<unsigned>{0, 1})) << "the FIFO double tickles every pCPU on wake";
}

TEST(Scheduler, AVcpuStillRunningElsewhereIsHandedOverWhenReleased) {
  // A policy that offers vCPU 0 to whichever pCPU asks first, then nothing.
  class OfferOnce final : public test::FifoTestPolicy {
   public:
    using FifoTestPolicy::FifoTestPolicy;
    Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) override {
      Decision d = FifoTestPolicy::doSchedule(pcpu, nullptr, false, now);
      (void)prev;
      (void)prevRunnable;
      if (first == nullptr) first = d.next;
      if (d.next == nullptr && calls++ == 0) d.next = first;  // pCPU 1: the one running on 0
      return d;
    }
    SchedVcpu* first = nullptr;
    int calls = 0;
  };
  Rig r(2, [](SchedHost& h) -> Result<std::unique_ptr<SchedPolicy>> {
    return std::unique_ptr<SchedPolicy>(std::make_unique<OfferOnce>(h));
  });
  ASSERT_TRUE(r.sched->addDomain(1, "d", 1).isOk());
  ASSERT_TRUE(r.sched->wake(1, 0).isOk());
  SchedVcpu* v = r.sched->schedule(0).next;
  ASSERT_NE(v, nullptr);
  r.signal.take();
  PcpuChoice c = r.sched->schedule(1);
  ASSERT_EQ(c.next, v);
  EXPECT_EQ(c.busyOn, 0);
  EXPECT_EQ(r.signal.take(), std::vector<unsigned>{0}) << "pCPU 0 is asked to let go";
  EXPECT_FALSE(r.sched->claim(1, v)) << "still running on pCPU 0";
  EXPECT_EQ(r.sched->current(1), nullptr);
  auto claimed = std::async(std::launch::async, [&] { return r.sched->waitAndClaim(1, v); });
  EXPECT_EQ(claimed.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  EXPECT_EQ(r.sched->schedule(0).next, nullptr);  // pCPU 0 lets go
  ASSERT_EQ(claimed.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(claimed.get());
  EXPECT_EQ(r.sched->current(1), v);
  EXPECT_EQ(v->pcpu, 1);
  EXPECT_TRUE(v->running);
}

TEST(Scheduler, PinningARunningVcpuAwayMovesIt) {
  Rig r(2);
  ASSERT_TRUE(r.sched->addDomain(1, "d", 1).isOk());
  ASSERT_TRUE(r.sched->wake(1, 0).isOk());
  ASSERT_NE(r.sched->schedule(0).next, nullptr);
  r.signal.take();
  CpuMask only1;
  only1.set(1);
  ASSERT_TRUE(r.sched->pin(1, 0, only1).isOk());
  EXPECT_EQ(r.signal.take(), std::vector<unsigned>{0});
  EXPECT_EQ(r.sched->schedule(0).next, nullptr) << "pCPU 0 may no longer run it";
  PcpuChoice c = r.sched->schedule(1);
  ASSERT_NE(c.next, nullptr);
  EXPECT_EQ(c.next->pcpu, 1);
  auto where = r.sched->placement(1, 0);
  ASSERT_TRUE(where.isOk());
  EXPECT_EQ(where->pcpu, 1);
  EXPECT_EQ(where->hardAffinity, only1);
  EXPECT_EQ(r.sched->placement(1, 5).status().code(), ESRCH);
  EXPECT_EQ(r.sched->schedule(0).next, nullptr);
  EXPECT_EQ(r.sched->pin(1, 0, CpuMask()).code(), EINVAL);
  CpuMask beyond;
  beyond.set(7);
  EXPECT_EQ(r.sched->pin(1, 0, beyond).code(), EINVAL) << "only pCPUs that do not exist";
}

TEST(Scheduler, ErrorsNameTheProblem) {
  Rig r(1);
  EXPECT_EQ(r.sched->wake(9, 0).code(), ESRCH);
  ASSERT_TRUE(r.sched->addDomain(1, "d", 1).isOk());
  EXPECT_EQ(r.sched->wake(1, 1).code(), ESRCH) << "vCPU past the domain's count";
  EXPECT_EQ(r.sched->addDomain(1, "again", 1).code(), EEXIST);
  EXPECT_EQ(r.sched->addDomain(2, "none", 0).code(), EINVAL);
  EXPECT_EQ(r.sched->domainParams(9).status().code(), ESRCH);
  EXPECT_EQ(r.sched->setDomainParams(1, {{"nosuch", 1}}).code(), EINVAL);
  ASSERT_TRUE(r.sched->wake(1, 0).isOk());
  ASSERT_NE(r.sched->schedule(0).next, nullptr);
  EXPECT_EQ(r.sched->removeDomain(1).code(), EBUSY) << "running";
  ASSERT_TRUE(r.sched->pause(1, 0).isOk());
  EXPECT_EQ(r.sched->schedule(0).next, nullptr);
  EXPECT_TRUE(r.sched->removeDomain(1).isOk());
  EXPECT_EQ(r.sched->removeDomain(1).code(), ESRCH);
  RecordingSignal s;
  EXPECT_EQ(Scheduler::create("fifo-test", 1, [] { return Ns{0}; }, s).status().code(), ENOENT);
  EXPECT_EQ(Scheduler::createWith(Rig::fifo(), 0, [] { return Ns{0}; }, s).status().code(), EINVAL);
  EXPECT_EQ(Scheduler::createWith(Rig::fifo(), kMaxPcpus + 1, [] { return Ns{0}; }, s).status().code(), EINVAL);
}

// The halt check's question: does a vCPU that may run on a pCPU wait behind
// the vCPU running there? (The run loop asks it while waiting() says so.)
TEST(Scheduler, HolderWithWaiterNamesAHolderOnlyWhenAnEligibleVcpuWaits) {
  Rig r(2);
  CpuMask only0, only1;
  only0.set(0);
  only1.set(1);
  ASSERT_TRUE(r.sched->addDomain(1, "holder", 1).isOk());
  ASSERT_TRUE(r.sched->addDomain(2, "other", 1).isOk());
  ASSERT_TRUE(r.sched->pin(1, 0, only0).isOk());
  ASSERT_TRUE(r.sched->pin(2, 0, only1).isOk());
  EXPECT_EQ(r.sched->holderWithWaiter(0), nullptr) << "nobody runs";
  r.signal.waitings = 0;
  ASSERT_TRUE(r.sched->wake(1, 0).isOk());
  EXPECT_GE(r.signal.waitings.load(), 1) << "a woken vCPU waits until a pCPU takes it";
  SchedVcpu* holder = r.sched->schedule(0).next;
  ASSERT_NE(holder, nullptr);
  EXPECT_EQ(r.sched->holderWithWaiter(0), nullptr) << "it runs alone";
  r.signal.waitings = 0;
  ASSERT_TRUE(r.sched->wake(2, 0).isOk());
  EXPECT_GE(r.signal.waitings.load(), 1);
  EXPECT_EQ(r.sched->holderWithWaiter(0), nullptr) << "the waiter may not run on pCPU 0";
  EXPECT_EQ(r.sched->holderWithWaiter(1), nullptr) << "pCPU 1 has no holder: it just takes the waiter";
  ASSERT_TRUE(r.sched->pin(2, 0, only0).isOk());
  EXPECT_EQ(r.sched->holderWithWaiter(0), holder);
  EXPECT_EQ(r.sched->holderWithWaiter(5), nullptr) << "no such pCPU";
  ASSERT_TRUE(r.sched->block(1, 0).isOk());
  SchedVcpu* next = r.sched->schedule(0).next;
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->domid, 2u);
  EXPECT_EQ(r.sched->holderWithWaiter(0), nullptr) << "the waiter got the pCPU";
}

TEST(Scheduler, APreemptedVcpuIsAWaiterToo) {
  Rig r(1);
  ASSERT_TRUE(r.sched->addDomain(1, "a", 1).isOk());
  ASSERT_TRUE(r.sched->addDomain(2, "b", 1).isOk());
  ASSERT_TRUE(r.sched->wake(1, 0).isOk());
  ASSERT_NE(r.sched->schedule(0).next, nullptr);
  ASSERT_TRUE(r.sched->wake(2, 0).isOk());
  r.signal.waitings = 0;
  SchedVcpu* b = r.sched->schedule(0).next;  // FIFO: the slice end hands the pCPU to b
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->domid, 2u);
  EXPECT_GE(r.signal.waitings.load(), 1) << "a went back to waiting";
  EXPECT_EQ(r.sched->holderWithWaiter(0), b);
}

}  // namespace
}  // namespace smartvm::sched
