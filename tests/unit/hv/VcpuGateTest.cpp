// The scheduler seam of a vCPU (VcpuGate) on the fake backend: which events a
// vCPU reports as it is unpaused, blocks, wakes, goes down and stops, and that
// a gate holding the vCPU out of the guest never blocks pause or stop.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>
#include <xen/hvm/params.h>
#include <xen/sched.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "FakeBackend.h"
#include "HvTestUtil.h"
#include "smartvm/abi/sched_parallel.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;
using test::waitUntil;

/// Events of all vCPUs' gates, as "v<id>:<event>".
struct GateLog {
  std::mutex m;
  std::vector<std::string> events;
  void add(uint32_t vcpu, const std::string& e) {
    std::lock_guard lk(m);
    events.push_back("v" + std::to_string(vcpu) + ":" + e);
  }
  std::vector<std::string> take() {
    std::lock_guard lk(m);
    return std::exchange(events, {});
  }
  size_t count(const std::string& e) {
    std::lock_guard lk(m);
    return static_cast<size_t>(std::count(events.begin(), events.end(), e));
  }
};

/// Records every call; with `hold` set, enter() waits until interrupt().
class RecordingGate final : public VcpuGate {
 public:
  RecordingGate(GateLog& log, uint32_t vcpu, std::atomic<bool>& hold) : log_(log), vcpu_(vcpu), hold_(hold) {}
  bool enter() override {
    if (!hold_.load()) return true;
    std::unique_lock lk(m_);
    log_.add(vcpu_, "held");
    cv_.wait(lk, [this] { return interrupted_; });
    interrupted_ = false;
    return false;
  }
  void exited() override { log_.add(vcpu_, "exited"); }
  void runnable() override { log_.add(vcpu_, "runnable"); }
  void idle(VcpuIdle why) override {
    log_.add(vcpu_, why == VcpuIdle::Blocked ? "blocked" : why == VcpuIdle::Paused ? "paused" : "down");
  }
  void yielded() override { log_.add(vcpu_, "yielded"); }
  void interrupt() override {
    {
      std::lock_guard lk(m_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }
  void stopped() override { log_.add(vcpu_, "stopped"); }
  int workHint(uint32_t op) override {
    log_.add(vcpu_, "hint" + std::to_string(op));
    return op <= 2 ? 0 : -EINVAL;
  }

 private:
  GateLog& log_;
  uint32_t vcpu_;
  std::atomic<bool>& hold_;
  std::mutex m_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

class VcpuGateTest : public ::testing::Test {
 protected:
  DomainHarness& harness(uint32_t vcpus = 1) {
    h_ = std::make_unique<DomainHarness>("gated", 64, vcpus, 7, nullptr, [this](uint32_t, uint32_t v) {
      return std::unique_ptr<VcpuGate>(std::make_unique<RecordingGate>(log_, v, hold_));
    });
    return *h_;
  }
  GateLog log_;
  std::atomic<bool> hold_{false};
  std::unique_ptr<DomainHarness> h_;
};

TEST_F(VcpuGateTest, UnpauseBlockWakeAndStopAreReported) {
  DomainHarness& h = harness();
  ASSERT_TRUE(h.bootAndStart());
  EXPECT_EQ(log_.take(), std::vector<std::string>{"v0:paused"}) << "created paused: never runnable before unpause";
  ASSERT_TRUE(h.domain().unpause().isOk());
  ASSERT_TRUE(waitUntil([&] { return h.fake().runs.load() > 0; }));
  EXPECT_EQ(log_.take(), std::vector<std::string>{"v0:runnable"});

  h.fake().regs().rflags = 0x202;  // hlt with interrupts on: blocks
  VcpuExit e{};
  e.reason = ExitReason::Hlt;
  h.fake().script(e);
  ASSERT_TRUE(waitUntil([&] { return h.vcpu().runState() == VcpuRunState::Blocked; }));
  EXPECT_EQ(log_.take(), std::vector<std::string>{"v0:blocked"}) << "the pCPU is given up before sleeping";
  ASSERT_TRUE(h.domain().raiseUpcall(0).isOk());
  ASSERT_TRUE(waitUntil([&] { return log_.count("v0:exited") == 1; }));
  EXPECT_EQ(log_.take(), (std::vector<std::string>{"v0:runnable", "v0:exited"}));

  h.domain().stopAndJoin();
  const auto end = log_.take();
  ASSERT_FALSE(end.empty());
  EXPECT_EQ(end.back(), "v0:stopped");
}

TEST_F(VcpuGateTest, DownAndUpOfASecondVcpuAreReported) {
  DomainHarness& h = harness(2);
  ASSERT_TRUE(h.bootAndStart());
  Vcpu& v1 = h.vcpu(1);
  v1.markInitialised();
  v1.bringUp(h.domain().dispatcher());
  ASSERT_TRUE(waitUntil([&] { return h.fake(1).runs.load() > 0; }));
  EXPECT_EQ(log_.count("v1:runnable"), 1u) << "its first start";
  v1.takeDown();
  ASSERT_TRUE(waitUntil([&] { return v1.runState() == VcpuRunState::Offline; }));
  EXPECT_EQ(log_.count("v1:down"), 1u);
  v1.bringUp(h.domain().dispatcher());
  ASSERT_TRUE(waitUntil([&] { return log_.count("v1:runnable") == 2; }));
  ASSERT_TRUE(waitUntil([&] { return v1.runState() == VcpuRunState::Running; }));
}

TEST_F(VcpuGateTest, AGateHoldingTheVcpuOutNeverBlocksPauseOrStop) {
  DomainHarness& h = harness();
  hold_ = true;  // no pCPU for anyone
  ASSERT_TRUE(h.bootAndStart());
  ASSERT_TRUE(h.domain().unpause().isOk());
  ASSERT_TRUE(waitUntil([&] { return log_.count("v0:held") >= 1; }));
  const uint64_t runs = h.fake().runs.load();
  auto paused = std::async(std::launch::async, [&] { return h.domain().pause().isOk(); });
  ASSERT_EQ(paused.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "pause hung on a held vCPU";
  EXPECT_TRUE(paused.get());
  EXPECT_EQ(h.fake().runs.load(), runs) << "a held vCPU never entered the guest";
  ASSERT_TRUE(h.domain().unpause().isOk());
  ASSERT_TRUE(waitUntil([&] { return log_.count("v0:held") >= 2; }));
  auto stopped = std::async(std::launch::async, [&] { h.domain().stopAndJoin(); });
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "stop hung on a held vCPU";
  EXPECT_EQ(h.fake().runs.load(), runs);
  EXPECT_EQ(log_.count("v0:stopped"), 1u);
}

TEST_F(VcpuGateTest, SchedopYieldIsReported) {
  DomainHarness& h = harness();
  ASSERT_TRUE(h.bootAndStart());
  ASSERT_TRUE(h.domain().unpause().isOk());
  ASSERT_TRUE(waitUntil([&] { return h.fake().runs.load() > 0; }));
  ASSERT_TRUE(h.domain().pause().isOk());
  log_.take();
  // Dispatch the hypercall on the test thread while the vCPU is parked.
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0), 0);
  EXPECT_EQ(log_.take(), std::vector<std::string>{"v0:yielded"});
}

// SMARTVM_SCHEDOP_parallel: the op reaches the gate; a bad pointer, a non-zero
// pad and a command with junk in the upper half (Xen's int cmd) are handled
// before it; without a scheduler the answer is -ENOSYS, as on Xen.
TEST_F(VcpuGateTest, SchedopParallelReachesTheGateAndHostileArgumentsDoNot) {
  constexpr uint64_t kArg = 0x400000;
  DomainHarness& h = harness();
  ASSERT_TRUE(h.bootAndStart());
  log_.take();
  h.put(kArg, smartvm_sched_parallel{SMARTVM_PARALLEL_layer_done, 0});
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SMARTVM_SCHEDOP_parallel, kArg), 0);
  EXPECT_EQ(log_.take(), std::vector<std::string>{"v0:hint2"});
  // Xen reads the command as an int: the upper 32 bits do not matter.
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, 0xdead000000000000ull | SMARTVM_SCHEDOP_parallel, kArg), 0);
  EXPECT_EQ(log_.take(), std::vector<std::string>{"v0:hint2"});
  h.put(kArg, smartvm_sched_parallel{SMARTVM_PARALLEL_begin, 7});
  EXPECT_EQ(static_cast<int64_t>(h.hypercall(__HYPERVISOR_sched_op, SMARTVM_SCHEDOP_parallel, kArg)), -EINVAL);
  h.put(kArg, smartvm_sched_parallel{0xffffffffu, 0});
  EXPECT_EQ(static_cast<int64_t>(h.hypercall(__HYPERVISOR_sched_op, SMARTVM_SCHEDOP_parallel, kArg)), -EINVAL)
      << "the gate refuses an unknown op";
  EXPECT_EQ(static_cast<int64_t>(h.hypercall(__HYPERVISOR_sched_op, SMARTVM_SCHEDOP_parallel, 0xfffffffffffff000ull)),
            -EFAULT);
  EXPECT_EQ(log_.take(), std::vector<std::string>{"v0:hint4294967295"}) << "only the readable, zero-padded one";
}

TEST(FreeRunningGate, AnswersParallelHintsWithEnosys) {
  FreeRunningGate g;
  EXPECT_EQ(g.workHint(SMARTVM_PARALLEL_begin), -ENOSYS);
  EXPECT_FALSE(g.shared());
  EXPECT_FALSE(g.runstate().has_value());
}

}  // namespace
}  // namespace smartvm::hv
