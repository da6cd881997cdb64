// ExitDispatcher::dispatch on a booted Domain's vCPU with hand-made exits.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <xen/sched.h>

#include <array>
#include <cstring>

#include "HvTestUtil.h"
#include "smartvm/hv/XenCpuid.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;
using smartvm::v1::DomainState;

VcpuExit ioExit(uint16_t port, uint8_t size, bool in, uint32_t count, uint8_t* data) {
  VcpuExit e{};
  e.reason = ExitReason::Io;
  e.io = IoExit{port, size, in, count, data};
  return e;
}

VcpuExit msrExit(bool write, uint32_t index, uint64_t* data, uint8_t* error) {
  VcpuExit e{};
  e.reason = write ? ExitReason::MsrWrite : ExitReason::MsrRead;
  e.msr = MsrExit{index, 0, data, error};
  return e;
}

class ExitDispatch : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h.bootAndStart()); }
  DomainHarness h;
};

TEST_F(ExitDispatch, BootRecordsVmSetup) {
  auto vms = h.platform().vms();
  ASSERT_EQ(vms.size(), 1u);
  auto& vm = *vms[0];
  ASSERT_EQ(vm.slots.count(0), 1u);
  EXPECT_EQ(vm.slots[0].gpa, 0u);
  EXPECT_EQ(vm.slots[0].size, 64 * test::kMiB);
  EXPECT_EQ(vm.slots[0].hva, h.gpa(0));
  EXPECT_TRUE(vm.irqchip);
  EXPECT_FALSE(vm.irqchipBeforeSlots) << "RAM slots must exist before the irqchip";
  EXPECT_EQ(vm.trappedMsrs, std::vector<uint32_t>{0x40000000u});
  EXPECT_EQ(vm.vcpuIds, std::vector<uint32_t>{0});
  // vCPU 0 got the Xen CPUID with its identity.
  const auto& cpuid = h.fake().cpuid;
  auto it = std::find_if(cpuid.begin(), cpuid.end(), [](const auto& e) { return e.function == 0x40000004; });
  ASSERT_NE(it, cpuid.end());
  EXPECT_EQ(it->ebx, 0u);
  EXPECT_EQ(it->ecx, 7u);
}

TEST_F(ExitDispatch, InFromUnknownPortReadsAllOnes) {
  std::array<uint8_t, 4> data = {1, 2, 3, 4};
  VcpuExit e = ioExit(0x3f8, 4, true, 1, data.data());
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(data, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(h.domain().counters().unknownPorts.load(), 1u);
  std::array<uint8_t, 2> d2 = {0, 0};
  VcpuExit e2 = ioExit(0x71, 1, true, 1, d2.data());
  EXPECT_EQ(h.dispatch(e2), ExitAction::Continue);
  EXPECT_EQ(d2[0], 0xff);
  EXPECT_EQ(d2[1], 0x00) << "a 1-byte in fills exactly one byte";
  EXPECT_EQ(h.domain().counters().unknownPorts.load(), 2u);
}

TEST_F(ExitDispatch, RepInFillsEveryElement) {
  std::array<uint8_t, 13> data{};
  VcpuExit e = ioExit(0x1f0, 2, true, 6, data.data());
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(data[i], 0xff) << i;
  EXPECT_EQ(data[12], 0x00) << "nothing past count * size";
  EXPECT_EQ(h.domain().counters().unknownPorts.load(), 1u) << "one exit, one count";
}

TEST_F(ExitDispatch, OutToUnknownPortLeavesDataAndCounts) {
  std::array<uint8_t, 4> data = {9, 8, 7, 6};
  VcpuExit e = ioExit(0x3f8, 1, false, 1, data.data());
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(data, (std::array<uint8_t, 4>{9, 8, 7, 6}));
  EXPECT_EQ(h.domain().counters().unknownPorts.load(), 1u);
}

TEST_F(ExitDispatch, PostCodePortIsADeviceNotUnknown) {
  uint8_t code = 0x42;
  VcpuExit e = ioExit(0x80, 1, false, 1, &code);
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(h.domain().counters().unknownPorts.load(), 0u);
  EXPECT_NE(h.domain().ioBus().find(0x80).device, nullptr);
  EXPECT_EQ(h.domain().ioBus().find(0x81).device, nullptr);
  EXPECT_EQ(h.domain().state(), DomainState::DOMAIN_STATE_PAUSED);
}

TEST_F(ExitDispatch, InvalidIoSizeIsIgnored) {
  std::array<uint8_t, 8> data{};
  VcpuExit e = ioExit(0x3f8, 8, true, 1, data.data());
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(data, (std::array<uint8_t, 8>{}));
  EXPECT_EQ(h.domain().counters().unknownPorts.load(), 0u);
}

TEST_F(ExitDispatch, MmioReadOfUnbackedAddressIsAllOnes) {
  std::array<uint8_t, 8> data{};
  VcpuExit e{};
  e.reason = ExitReason::Mmio;
  e.mmio = MmioExit{0xfee00000, 4, false, data.data()};
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(data, (std::array<uint8_t, 8>{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}));
  EXPECT_EQ(h.domain().counters().unknownMmio.load(), 1u);
  std::array<uint8_t, 8> w = {1, 2, 3, 4, 5, 6, 7, 8};
  e.mmio = MmioExit{0xfee00000, 8, true, w.data()};
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(w, (std::array<uint8_t, 8>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(h.domain().counters().unknownMmio.load(), 2u);
}

TEST_F(ExitDispatch, HypercallMsrFillsRamPage) {
  constexpr uint64_t kPage = 0x500000;
  std::memset(h.gpa(kPage, 4096), 0x11, 4096);
  uint64_t value = kPage;
  uint8_t error = 0xaa;
  VcpuExit e = msrExit(true, kXenHypercallMsr, &value, &error);
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(error, 0);
  std::array<uint8_t, 4096> want;
  fillHypercallPage(want.data());
  EXPECT_EQ(std::memcmp(h.gpa(kPage, 4096), want.data(), 4096), 0);
  EXPECT_EQ(h.gpa(kPage)[32 * 17 + 1], 17);
  EXPECT_EQ(h.gpa(kPage + 4096)[0], 0x00) << "the next page is untouched";
}

TEST_F(ExitDispatch, HypercallMsrWithPageIndexFaults) {
  constexpr uint64_t kPage = 0x500000;
  std::memset(h.gpa(kPage, 4096), 0x11, 4096);
  uint64_t value = kPage | 1;
  uint8_t error = 0;
  VcpuExit e = msrExit(true, kXenHypercallMsr, &value, &error);
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(error, 1);
  for (size_t i = 0; i < 4096; ++i) ASSERT_EQ(h.gpa(kPage)[i], 0x11) << i;
}

TEST_F(ExitDispatch, HypercallMsrOutsideRamFaults) {
  for (uint64_t gpa : {64 * test::kMiB, uint64_t{0xfee00000}, uint64_t{1} << 40}) {
    uint64_t value = gpa;
    uint8_t error = 0;
    VcpuExit e = msrExit(true, kXenHypercallMsr, &value, &error);
    EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
    EXPECT_EQ(error, 1) << std::hex << gpa;
  }
}

TEST_F(ExitDispatch, RdmsrOfHypercallMsrFaults) {
  uint64_t value = 0x1234;
  uint8_t error = 0;
  VcpuExit e = msrExit(false, kXenHypercallMsr, &value, &error);
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(error, 1);
  EXPECT_EQ(h.domain().counters().unknownMsrs.load(), 0u) << "a known MSR, not an unknown one";
}

TEST_F(ExitDispatch, UnknownMsrFaultsBothWays) {
  uint64_t value = 0;
  uint8_t error = 0;
  VcpuExit r = msrExit(false, 0xc0010131, &value, &error);
  EXPECT_EQ(h.dispatch(r), ExitAction::Continue);
  EXPECT_EQ(error, 1);
  error = 0;
  value = 5;
  VcpuExit w = msrExit(true, 0x4b564d00, &value, &error);
  EXPECT_EQ(h.dispatch(w), ExitAction::Continue);
  EXPECT_EQ(error, 1);
  EXPECT_EQ(h.domain().counters().unknownMsrs.load(), 2u);
}

TEST_F(ExitDispatch, TripleFaultCrashesDomain) {
  VcpuExit e{};
  e.reason = ExitReason::Shutdown;
  EXPECT_EQ(h.dispatch(e), ExitAction::Stop);
  EXPECT_EQ(h.domain().state(), DomainState::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_crash));
  EXPECT_EQ(h.domain().crashDetail(), "vCPU0: triple fault");
  EXPECT_EQ(h.shutdownCalls.load(), 1);
  EXPECT_EQ(h.lastShutdownDomid.load(), 7u);
  EXPECT_EQ(h.domain().info().shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
  EXPECT_EQ(h.domain().info().crash_detail(), "vCPU0: triple fault");
}

TEST_F(ExitDispatch, InternalErrorCrashesWithSuberror) {
  VcpuExit e{};
  e.reason = ExitReason::InternalError;
  e.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
  e.internal.ndata = 2;
  e.internal.data[0] = 0xabc;
  e.internal.data[1] = 0x10;
  EXPECT_EQ(h.dispatch(e), ExitAction::Stop);
  EXPECT_EQ(h.domain().state(), DomainState::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(h.domain().crashDetail(),
            "vCPU0: KVM internal error, suberror 1 (instruction emulation failed) 0xabc 0x10");
}

TEST_F(ExitDispatch, FailEntryCrashesWithHardwareReason) {
  VcpuExit e{};
  e.reason = ExitReason::FailEntry;
  e.failEntryReason = 0x80000021;
  EXPECT_EQ(h.dispatch(e), ExitAction::Stop);
  EXPECT_EQ(h.domain().state(), DomainState::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(h.domain().crashDetail(), "vCPU0: VM entry failed, hardware reason 0x80000021");
}

TEST_F(ExitDispatch, UnknownExitCrashes) {
  VcpuExit e{};
  e.reason = ExitReason::Unknown;
  e.rawReason = 29;
  EXPECT_EQ(h.dispatch(e), ExitAction::Stop);
  EXPECT_EQ(h.domain().state(), DomainState::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(h.domain().crashDetail(), "vCPU0: unhandled exit reason 29");
}

TEST_F(ExitDispatch, KvmRunFailureCrashesWithErrno) {
  VcpuExit e{};
  e.reason = ExitReason::Unknown;
  e.rawReason = 0x10000u | EFAULT;
  EXPECT_EQ(h.dispatch(e), ExitAction::Stop);
  EXPECT_EQ(h.domain().crashDetail(), "vCPU0: KVM_RUN failed: errno 14");
}

TEST_F(ExitDispatch, FirstCrashReasonWins) {
  VcpuExit e{};
  e.reason = ExitReason::Shutdown;
  EXPECT_EQ(h.dispatch(e), ExitAction::Stop);
  e.reason = ExitReason::FailEntry;
  EXPECT_EQ(h.dispatch(e), ExitAction::Stop);
  EXPECT_EQ(h.domain().crashDetail(), "vCPU0: triple fault");
  EXPECT_EQ(h.shutdownCalls.load(), 1) << "onShutdown runs once";
}

TEST_F(ExitDispatch, HltWithInterruptsOffPowersOff) {
  h.fake().regs().rflags = 0x2;
  VcpuExit e{};
  e.reason = ExitReason::Hlt;
  // The vCPU goes down; as the last one up it powers the domain off, whose
  // stop request then ends the loop.
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(h.domain().state(), DomainState::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_poweroff));
  EXPECT_EQ(h.domain().crashDetail(), "");
}

TEST_F(ExitDispatch, HltWithInterruptsOnContinues) {
  h.fake().regs().rflags = 0x202;
  VcpuExit e{};
  e.reason = ExitReason::Hlt;
  // The domain is paused, so block() returns at once.
  EXPECT_EQ(h.dispatch(e), ExitAction::Continue);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Running);
}

TEST_F(ExitDispatch, CountsExitsPerReason) {
  std::array<uint8_t, 4> data{};
  for (int i = 0; i < 3; ++i) {
    VcpuExit io = ioExit(0x60, 1, true, 1, data.data());
    h.dispatch(io);
  }
  VcpuExit intr{};
  intr.reason = ExitReason::Interrupted;
  EXPECT_EQ(h.dispatch(intr), ExitAction::Continue);
  EXPECT_EQ(h.dispatch(intr), ExitAction::Continue);
  uint64_t v = 0;
  uint8_t err = 0;
  VcpuExit rd = msrExit(false, 0x10, &v, &err);
  h.dispatch(rd);
  const auto counts = h.domain().counters().exitCounts();
  EXPECT_EQ(counts, (std::map<std::string, uint64_t>{{"io", 3}, {"interrupted", 2}, {"msr_read", 1}}));
  EXPECT_EQ(h.domain().info().exit_counts().at("io"), 3u);
}

TEST(ExitDispatchIsolation, CrashOfOneDomainLeavesAnotherRunning) {
  DomainHarness a("alpha", 64, 1, 1);
  DomainHarness b("beta", 64, 1, 2);
  ASSERT_TRUE(a.bootAndStart());
  ASSERT_TRUE(b.bootAndStart());
  ASSERT_TRUE(b.domain().unpause().isOk());  // b's vCPU thread now sits in FakeVcpu::run()
  ASSERT_TRUE(test::waitUntil([&] { return b.fake().runs.load() > 0; }));
  VcpuExit e{};
  e.reason = ExitReason::Shutdown;
  EXPECT_EQ(a.dispatch(e), ExitAction::Stop);
  EXPECT_EQ(a.domain().state(), DomainState::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(b.domain().state(), DomainState::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(b.domain().phase(), DomainPhase::Running);
  EXPECT_EQ(b.domain().crashDetail(), "");
  EXPECT_EQ(b.shutdownCalls.load(), 0);
  EXPECT_EQ(a.shutdownCalls.load(), 1);
}

TEST(ExitDispatchThread, ScriptedTripleFaultOnVcpuThreadCrashesDomain) {
  DomainHarness h("threaded", 64, 1, 3);
  ASSERT_TRUE(h.bootAndStart());
  VcpuExit e{};
  e.reason = ExitReason::Shutdown;
  h.fake().script(e);
  ASSERT_TRUE(h.domain().unpause().isOk());
  ASSERT_TRUE(test::waitUntil([&] { return h.shutdownCalls.load() == 1; }));
  EXPECT_EQ(h.domain().crashDetail(), "vCPU0: triple fault");
  ASSERT_TRUE(test::waitUntil([&] { return h.vcpu().runState() == VcpuRunState::Stopped; }));
  EXPECT_EQ(h.domain().state(), DomainState::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(h.domain().counters().exitCounts().at("shutdown"), 1u);
}

}  // namespace
}  // namespace smartvm::hv
