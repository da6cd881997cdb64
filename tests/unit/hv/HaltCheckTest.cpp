// The scheduler's halt check on fake vCPUs and a real HostScheduler with one
// pCPU: while a vCPU waits for the pCPU, its holder is kicked every period;
// a holder idling in `hlt` is then blocked and the waiter runs, one that is
// not re-enters with its slice untouched; with nobody waiting nothing is kicked.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "FakeBackend.h"
#include "HvTestUtil.h"
#include "smartvm/hv/sched/HostScheduler.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;
using test::waitUntil;
using namespace std::chrono_literals;

class HaltCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto cores = allowedHostCores();
    ASSERT_FALSE(cores.empty());
    auto hs = HostScheduler::create("credit", {cores.front()}, HostScheduler::kDefaultHaltCheck);
    ASSERT_TRUE(hs.isOk()) << hs.status().toString();
    hs_ = std::move(hs).value();
    // Slices of a second: a slice end within a test would also find a halted
    // vCPU, so whatever happens sooner is the halt check's doing.
    ASSERT_TRUE(hs_->scheduler().setGlobalParams({{"tslice_ms", 1000}}).isOk());
  }

  /// A started, unpaused one-vCPU domain under hs_.
  DomainHarness& add(uint32_t domid, const std::string& name) {
    EXPECT_TRUE(hs_->scheduler().addDomain(domid, name, 1).isOk());
    HostScheduler* hs = hs_.get();
    auto h = std::make_unique<DomainHarness>(name, 64, 1, domid, nullptr,
                                             [hs](uint32_t d, uint32_t v) { return hs->makeGate(d, v); });
    EXPECT_TRUE(h->bootAndStart());
    h->fake().regs().rflags = 0x202;  // interrupts on, as a guest idling in `sti; hlt`
    EXPECT_TRUE(h->domain().unpause().isOk());
    doms_.push_back(std::move(h));
    return *doms_.back();
  }

  DomainHarness& byDomid(uint32_t domid) {
    for (auto& d : doms_)
      if (d->domain().domid() == domid) return *d;
    ADD_FAILURE() << "no domain " << domid;
    return *doms_.front();
  }

  /// Two domains on the one pCPU; returns {holder, waiter} once one holds it
  /// and the other waits for it.
  std::pair<DomainHarness*, DomainHarness*> holderAndWaiter() {
    add(7, "a");
    add(8, "b");
    sched::Scheduler& s = hs_->scheduler();
    const sched::SchedVcpu* holder = nullptr;
    auto settled = [&] {
      holder = s.holderWithWaiter(0);
      return holder != nullptr && byDomid(holder->domid).fake().runs.load() > 0;
    };
    EXPECT_TRUE(waitUntil(settled)) << "no vCPU held the pCPU with the other waiting";
    // The second one's wake may still preempt the first (credit's boost, after
    // the rate limit): past that, the pair stays put for the 1 s slice.
    std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(waitUntil(settled)) << "no vCPU held the pCPU with the other waiting";
    if (holder == nullptr) return {nullptr, nullptr};
    return {&byDomid(holder->domid), &byDomid(holder->domid == 7 ? 8 : 7)};
  }

  sched::Runstate runstate(DomainHarness& d) {
    auto r = hs_->scheduler().runstate(d.domain().domid(), 0);
    EXPECT_TRUE(r.isOk());
    return r.isOk() ? *r : sched::Runstate{};
  }

  std::unique_ptr<HostScheduler> hs_;  // first: the domains' gates use it until they are gone
  std::vector<std::unique_ptr<DomainHarness>> doms_;
};

TEST_F(HaltCheckTest, AHaltedHolderIsBlockedAtTheCheckAndTheWaiterRuns) {
  auto [holder, waiter] = holderAndWaiter();
  ASSERT_NE(holder, nullptr);
  const uint64_t waiterRuns = waiter->fake().runs.load();
  holder->fake().setHaltWake(HaltWake{});  // no timer: blocked until an event
  holder->fake().halt = true;
  ASSERT_TRUE(waitUntil([&] { return waiter->fake().runs.load() > waiterRuns; })) << "the waiter never ran";
  const DomainCounters& c = holder->domain().counters();
  EXPECT_GE(c.haltChecks.load(), 1u);
  EXPECT_EQ(c.haltCheckBlocks.load(), 1u) << "the block came from a halt check, not a slice end";
  EXPECT_EQ(c.haltBlocks.load(), 1u);
  EXPECT_EQ(holder->vcpu().runState(), VcpuRunState::Blocked);
  EXPECT_GE(hs_->haltCheckRounds(), 1u);
  EXPECT_EQ(hs_->scheduler().current(0)->domid, waiter->domain().domid());
  // An event wakes the halted vCPU; it waits for the pCPU like any other.
  ASSERT_TRUE(holder->domain().raiseUpcall(0).isOk());
  EXPECT_TRUE(waitUntil([&] { return runstate(*holder).state == sched::VcpuState::Runnable; }));
}

TEST_F(HaltCheckTest, WithNobodyWaitingNothingIsChecked) {
  DomainHarness& only = add(7, "alone");
  ASSERT_TRUE(waitUntil([&] { return only.fake().runs.load() > 0; }));
  only.fake().setHaltWake(HaltWake{});
  only.fake().halt = true;  // even a halted vCPU keeps its pCPU: nobody wants it
  const uint64_t runs = only.fake().runs.load();
  std::this_thread::sleep_for(60ms);  // 60 check periods
  EXPECT_EQ(hs_->haltCheckRounds(), 0u) << "no timer was armed";
  EXPECT_EQ(only.domain().counters().haltChecks.load(), 0u);
  EXPECT_EQ(only.fake().runs.load(), runs) << "kicked out of KVM_RUN";
  EXPECT_EQ(only.domain().counters().haltBlocks.load(), 0u);
}

TEST_F(HaltCheckTest, ABusyHolderKickedByTheCheckKeepsItsSlice) {
  auto [holder, waiter] = holderAndWaiter();
  ASSERT_NE(holder, nullptr);
  const sched::Runstate h0 = runstate(*holder), w0 = runstate(*waiter);
  ASSERT_EQ(h0.state, sched::VcpuState::Running);
  const uint64_t runs = holder->fake().runs.load();
  const DomainCounters& c = holder->domain().counters();
  const uint64_t checks = c.haltChecks.load();
  // The fake thread sleeps in run(), so the CPU-time filter lets every check kick it.
  ASSERT_TRUE(waitUntil([&] { return c.haltChecks.load() >= checks + 5; })) << "no halt checks";
  ASSERT_TRUE(waitUntil([&] { return holder->fake().runs.load() >= runs + 4; })) << "each kick ends in a re-entry";
  const sched::Runstate h1 = runstate(*holder), w1 = runstate(*waiter);
  EXPECT_EQ(c.haltCheckBlocks.load(), 0u);
  EXPECT_EQ(c.haltBlocks.load(), 0u);
  EXPECT_EQ(hs_->scheduler().current(0)->domid, holder->domain().domid()) << "descheduled";
  EXPECT_EQ(h1.state, sched::VcpuState::Running);
  EXPECT_EQ(h1.stateEntry, h0.stateEntry) << "it left the running state";
  EXPECT_EQ(h1.runnable, h0.runnable);
  EXPECT_EQ(w1.state, sched::VcpuState::Runnable);
  EXPECT_EQ(w1.running, w0.running) << "the waiter ran";
  EXPECT_EQ(waiter->vcpu().runState(), VcpuRunState::Running) << "the waiter's thread waits for a pCPU";
}

TEST_F(HaltCheckTest, ChecksStopWhenTheWaiterGoes) {
  auto [holder, waiter] = holderAndWaiter();
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(waitUntil([&] { return holder->domain().counters().haltChecks.load() >= 2; }));
  ASSERT_TRUE(waiter->domain().pause().isOk());  // nobody waits from here on
  std::this_thread::sleep_for(10ms);  // a round under way finishes
  const uint64_t rounds = hs_->haltCheckRounds();
  std::this_thread::sleep_for(50ms);
  EXPECT_LE(hs_->haltCheckRounds(), rounds + 1) << "the timer kept running with nobody waiting";
}

TEST(HaltCheckOff, AZeroPeriodArmsNothing) {
  const auto cores = allowedHostCores();
  ASSERT_FALSE(cores.empty());
  auto hs = HostScheduler::create("credit", {cores.front()}, 0);
  ASSERT_TRUE(hs.isOk());
  EXPECT_EQ((*hs)->haltCheckPeriod(), 0);
  HostScheduler* h = hs->get();
  ASSERT_TRUE(h->scheduler().setGlobalParams({{"tslice_ms", 1000}}).isOk());
  std::vector<std::unique_ptr<DomainHarness>> doms;
  for (uint32_t id : {7u, 8u}) {
    ASSERT_TRUE(h->scheduler().addDomain(id, "d" + std::to_string(id), 1).isOk());
    doms.push_back(std::make_unique<DomainHarness>("d" + std::to_string(id), 64, 1, id, nullptr,
                                                   [h](uint32_t d, uint32_t v) { return h->makeGate(d, v); }));
    ASSERT_TRUE(doms.back()->bootAndStart());
    ASSERT_TRUE(doms.back()->domain().unpause().isOk());
  }
  ASSERT_TRUE(waitUntil([&] { return h->scheduler().holderWithWaiter(0) != nullptr; }));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(h->haltCheckRounds(), 0u);
  for (auto& d : doms) EXPECT_EQ(d->domain().counters().haltChecks.load(), 0u);
  doms.clear();  // before the scheduler their gates use
}

}  // namespace
}  // namespace smartvm::hv
