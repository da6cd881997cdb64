// Event upcall delivery: HVM_PARAM_CALLBACK_IRQ decoding and Domain::raiseUpcall
// (wake a blocked vCPU, MSI to its LAPIC) on the fake backend.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>
#include <xen/hvm/params.h>

#include <chrono>
#include <future>
#include <thread>

#include "FakeBackend.h"
#include "HvTestUtil.h"
#include "smartvm/hv/CallbackVia.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;
using test::waitUntil;

constexpr uint64_t kVectorType = uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56;

TEST(CallbackVia, DecodesOnlyVectorCallbacks) {
  EXPECT_EQ(callbackVector(kVectorType | 0xf3), std::optional<uint8_t>(0xf3));
  EXPECT_EQ(callbackVector(kVectorType | 0x10), std::optional<uint8_t>(0x10));
  EXPECT_EQ(callbackVector(0), std::nullopt) << "no callback configured";
  EXPECT_EQ(callbackVector(kVectorType | 0x0e), std::nullopt) << "vectors below 0x10 are exceptions";
  EXPECT_EQ(callbackVector((uint64_t{HVM_PARAM_CALLBACK_TYPE_GSI} << 56) | 28), std::nullopt);
  EXPECT_EQ(callbackVector((uint64_t{HVM_PARAM_CALLBACK_TYPE_PCI_INTX} << 56) | 0x1234), std::nullopt);
  EXPECT_EQ(callbackVector(~uint64_t{0}), std::nullopt) << "type 0xff is not a vector callback";
}

TEST(Upcall, SignalsTheCallbackVectorToTheVcpusApic) {
  DomainHarness h("upcall", 64, 2);
  ASSERT_TRUE(h.bootAndStart());
  h.domain().setHvmParam(HVM_PARAM_CALLBACK_IRQ, kVectorType | 0xf3);
  ASSERT_TRUE(h.domain().raiseUpcall(1).isOk());
  ASSERT_TRUE(h.domain().raiseUpcall(0).isOk());
  auto rec = h.platform().vms().back();
  std::lock_guard lk(rec->m);
  ASSERT_EQ(rec->msis.size(), 2u);
  EXPECT_EQ(rec->msis[0], (std::pair<uint32_t, uint8_t>{1, 0xf3}));
  EXPECT_EQ(rec->msis[1], (std::pair<uint32_t, uint8_t>{0, 0xf3}));
}

TEST(Upcall, NoCallbackMeansNoInterruptButStillAWake) {
  DomainHarness h("nocallback", 64, 2);
  ASSERT_TRUE(h.bootAndStart());
  Vcpu* v1 = h.domain().vcpu(1);
  // Up (a down vCPU never sleeps in block()); its thread sits in the fake's run().
  v1->markInitialised();
  v1->bringUp(h.domain().dispatcher());
  // Wait until its loop is inside run(): it sets Running on the way in.
  auto& fake1 = static_cast<test::FakeVcpu&>(v1->backend());
  ASSERT_TRUE(waitUntil([&] { return fake1.runs.load() > 0; }));
  auto blocked = std::async(std::launch::async, [v1] { v1->block(); });
  // On an early ASSERT return, end the block before the future's destructor waits for it.
  struct WakeOnExit {
    Vcpu* v;
    ~WakeOnExit() { v->wake(); }
  } wakeOnExit{v1};
  ASSERT_TRUE(waitUntil([v1] { return v1->runState() == VcpuRunState::Blocked; }));
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout) << "woke with no event";
  ASSERT_TRUE(h.domain().raiseUpcall(1).isOk());
  EXPECT_EQ(blocked.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "event did not wake the vCPU";
  auto rec = h.platform().vms().back();
  std::lock_guard lk(rec->m);
  EXPECT_TRUE(rec->msis.empty());
}

// exitHandlingNs counts smartvm-hv's own time on exits, not a guest's sleep:
// an hlt (interrupts on) that blocks ~200 ms adds far less than that.
TEST(Upcall, ExitHandlingTimeLeavesOutTheSleepInBlock) {
  DomainHarness h("handling", 64, 1);
  ASSERT_TRUE(h.bootAndStart());
  Vcpu* v0 = h.domain().vcpu(0);
  auto& fake0 = static_cast<test::FakeVcpu&>(v0->backend());
  fake0.regs().rflags = 0x202;  // IF: a halt that waits for an interrupt
  ASSERT_TRUE(h.domain().unpause().isOk());
  ASSERT_TRUE(waitUntil([&] { return fake0.runs.load() > 0; }));
  const uint64_t before = h.domain().counters().exitHandlingNs.load();
  const uint64_t hltsBefore = h.domain().counters().exits[static_cast<size_t>(ExitReason::Hlt)].load();
  VcpuExit e{};
  e.reason = ExitReason::Hlt;
  fake0.script(e);
  ASSERT_TRUE(waitUntil([v0] { return v0->runState() == VcpuRunState::Blocked; }));
  const auto sleepStart = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(h.domain().raiseUpcall(0).isOk());
  ASSERT_TRUE(waitUntil([&] {
    return h.domain().counters().exits[static_cast<size_t>(ExitReason::Hlt)].load() > hltsBefore &&
           v0->runState() == VcpuRunState::Running && fake0.runs.load() > 1 &&
           h.domain().counters().exitHandlingNs.load() > before;
  }));
  const auto slept = std::chrono::steady_clock::now() - sleepStart;
  const uint64_t handled = h.domain().counters().exitHandlingNs.load() - before;
  EXPECT_GT(handled, 0u) << "the hlt exit was handled";
  EXPECT_LT(handled, 100'000'000u) << "the ~200 ms asleep in block() was counted as handling";
  EXPECT_GE(slept, std::chrono::milliseconds(200));
}

TEST(Upcall, BadVcpuAndTornDownDomainAreEsrch) {
  DomainHarness h("gone", 64, 1);
  ASSERT_TRUE(h.bootAndStart());
  h.domain().setHvmParam(HVM_PARAM_CALLBACK_IRQ, kVectorType | 0xf3);
  EXPECT_EQ(h.domain().raiseUpcall(1).code(), ESRCH);
  EXPECT_EQ(h.domain().raiseUpcall(0xffffffffu).code(), ESRCH);
  h.domain().teardown();
  EXPECT_EQ(h.domain().raiseUpcall(0).code(), ESRCH);
  auto rec = h.platform().vms().back();
  std::lock_guard lk(rec->m);
  EXPECT_TRUE(rec->msis.empty());
}

}  // namespace
}  // namespace smartvm::hv
