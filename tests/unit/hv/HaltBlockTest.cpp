// A vCPU found halted inside KVM at a kick, while it shares a pCPU: blocked
// until an event or its own LAPIC timer, not blocked when its LAPIC already
// holds a deliverable interrupt, and probed once more on a spent one-shot.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>
#include <xen/vcpu.h>

#include <chrono>

#include "FakeBackend.h"
#include "HvTestUtil.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;
using test::waitUntil;
using namespace std::chrono_literals;

/// Free-running, but says the vCPU shares its pCPU, as a scheduler's gate does.
class SharedGate final : public VcpuGate {
 public:
  bool enter() override { return true; }
  void exited() override {}
  void runnable() override {}
  void idle(VcpuIdle) override {}
  void yielded() override {}
  void interrupt() override {}
  void stopped() override {}
  bool shared() const override { return true; }
};

class HaltBlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = std::make_unique<DomainHarness>("halter", 64, 1, 7, nullptr, [](uint32_t, uint32_t) {
      return std::unique_ptr<VcpuGate>(std::make_unique<SharedGate>());
    });
    ASSERT_TRUE(h_->bootAndStart());
    fake().regs().rflags = 0x202;  // sti; hlt
    ASSERT_TRUE(h_->domain().unpause().isOk());
    ASSERT_TRUE(waitUntil([&] { return fake().runs.load() > 0; }));
    fake().halt = true;
  }
  test::FakeVcpu& fake() { return h_->fake(); }
  DomainCounters& counters() { return h_->domain().counters(); }
  uint64_t blockedNs() { return h_->vcpu().runstate().time[RUNSTATE_blocked]; }
  /// Kicks the vCPU out of its (fake) KVM_RUN and waits until it has run again.
  std::chrono::nanoseconds kickAndWaitForRun(std::chrono::milliseconds timeout = 5s) {
    const uint64_t runs = fake().runs.load();
    const auto t0 = std::chrono::steady_clock::now();
    fake().kick();
    EXPECT_TRUE(waitUntil([&] { return fake().runs.load() > runs; }, timeout)) << "the vCPU never ran again";
    return std::chrono::steady_clock::now() - t0;
  }
  std::unique_ptr<DomainHarness> h_;
};

TEST_F(HaltBlockTest, AHaltedVcpuSleepsUntilItsLapicTimer) {
  HaltWake w;
  w.timerNs = 5'000'000;
  fake().setHaltWake(w);
  const auto took = kickAndWaitForRun();
  EXPECT_GE(took, 5ms) << "ran again before its timer was due";
  EXPECT_GE(blockedNs(), 4'000'000u) << "it gave the pCPU up meanwhile";
  EXPECT_EQ(counters().haltBlocks.load(), 1u);
  EXPECT_EQ(counters().timedHaltBlocks.load(), 1u);
  EXPECT_EQ(h_->vcpu().runState(), VcpuRunState::Running);
}

TEST_F(HaltBlockTest, AnEventEndsTheTimedBlockEarly) {
  HaltWake w;
  w.timerNs = 10'000'000'000ull;
  fake().setHaltWake(w);
  const uint64_t runs = fake().runs.load();
  fake().kick();
  ASSERT_TRUE(waitUntil([&] { return h_->vcpu().runState() == VcpuRunState::Blocked; }));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(h_->domain().raiseUpcall(0).isOk());
  ASSERT_TRUE(waitUntil([&] { return fake().runs.load() > runs; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(counters().timedHaltBlocks.load(), 1u);
}

TEST_F(HaltBlockTest, WithoutATimerOnlyAnEventWakesIt) {
  fake().setHaltWake(HaltWake{});
  const uint64_t runs = fake().runs.load();
  fake().kick();
  ASSERT_TRUE(waitUntil([&] { return h_->vcpu().runState() == VcpuRunState::Blocked; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fake().runs.load(), runs) << "woke with nothing to wake it";
  ASSERT_TRUE(h_->domain().raiseUpcall(0).isOk());
  ASSERT_TRUE(waitUntil([&] { return fake().runs.load() > runs; }));
  EXPECT_EQ(counters().haltBlocks.load(), 1u);
  EXPECT_EQ(counters().timedHaltBlocks.load(), 0u);
}

TEST_F(HaltBlockTest, ADeliverableInterruptKeepsItRunning) {
  HaltWake w;
  w.interruptPending = true;
  fake().setHaltWake(w);
  const auto took = kickAndWaitForRun();
  EXPECT_LT(took, 1s);
  EXPECT_EQ(counters().haltBlocks.load(), 0u);
  EXPECT_EQ(blockedNs(), 0u);
}

TEST_F(HaltBlockTest, APendingInterruptWithInterruptsOffDoesNotCount) {
  fake().regs().rflags = 0x2;  // cli; hlt: the vector cannot end the halt
  HaltWake w;
  w.interruptPending = true;
  fake().setHaltWake(w);
  fake().kick();
  ASSERT_TRUE(waitUntil([&] { return h_->vcpu().runState() == VcpuRunState::Blocked; }));
  EXPECT_EQ(counters().haltBlocks.load(), 1u);
}

TEST_F(HaltBlockTest, ASpentOneShotIsRunOnceMoreThenBlocked) {
  HaltWake w;
  w.timerSpent = true;
  fake().setHaltWake(w);
  kickAndWaitForRun();
  EXPECT_EQ(counters().haltBlocks.load(), 0u) << "its interrupt may wait for this KVM_RUN";
  fake().kick();
  ASSERT_TRUE(waitUntil([&] { return h_->vcpu().runState() == VcpuRunState::Blocked; }));
  EXPECT_EQ(counters().haltBlocks.load(), 1u);
  EXPECT_EQ(counters().timedHaltBlocks.load(), 0u);
}

TEST(HaltBlockFreeRunning, WithoutASchedulerAHaltedVcpuStaysInKvm) {
  DomainHarness h;
  ASSERT_TRUE(h.bootAndStart());
  ASSERT_TRUE(h.domain().unpause().isOk());
  ASSERT_TRUE(waitUntil([&] { return h.fake().runs.load() > 0; }));
  h.fake().halt = true;
  const uint64_t runs = h.fake().runs.load();
  h.fake().kick();
  ASSERT_TRUE(waitUntil([&] { return h.fake().runs.load() > runs; }));
  EXPECT_EQ(h.fake().haltWakeCalls.load(), 0);
  EXPECT_EQ(h.domain().counters().haltBlocks.load(), 0u);
}

}  // namespace
}  // namespace smartvm::hv
