// vcpu_op, set_timer_op, SCHEDOP_poll and HVMOP_set_evtchn_upcall_vector
// through the real dispatch path, against Xen's do_vcpu_op / do_set_timer_op /
// do_poll semantics. vCPU 0's hypercalls run on the test thread (its own
// thread is parked, the domain being paused); calls that must really block
// run on vCPU 1's own thread, scripted as the port-I/O exit of the hypercall
// page, exactly as its guest would make them.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>
#include <xen/event_channel.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/hvm/params.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/xen.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "FakeBackend.h"
#include "HvTestUtil.h"
#include "smartvm/evtchn/EventChannels.h"
#include "smartvm/hv/PollWakingAbi.h"
#include "smartvm/hv/time/PvClock.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using test::DomainHarness;
using test::FakeVcpu;
using test::kMiB;
using test::waitUntil;

constexpr int64_t neg(int e) { return -static_cast<int64_t>(e); }
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kHour = 3600'000'000'000ull;

// Guest-virtual == guest-physical under the harness's identity map.
constexpr uint64_t kArg = 0x400000;   // vCPU 0's argument structs
constexpr uint64_t kEvArg = 0x408000; // vCPU 0's event channel structs
constexpr uint64_t kBuf = 0x410000;   // buffers and runstate areas
constexpr uint64_t kArg1 = 0x420000;  // vCPU 1's argument structs
constexpr uint64_t kRamEnd = 64 * kMiB;
constexpr uint64_t kUnmapped = uint64_t{1} << 39;  // PML4 slot 1: not present
constexpr uint64_t kVectorType = uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56;
constexpr int64_t kTimedOut = 0x7eadbeef;

vcpu_hvm_context_t longModeContext(uint64_t rip) {
  vcpu_hvm_context_t c{};
  c.mode = VCPU_HVM_MODE_64B;
  auto& r = c.cpu_regs.x86_64;
  r.rip = rip;
  r.rsp = 0x7000;
  r.rbx = 0xb0b;
  r.rflags = 0x2;
  r.cr0 = paging::kCr0Pg | 1;
  r.cr3 = test::kPml4;
  r.cr4 = paging::kCr4Pae;
  r.efer = paging::kEferLme;
  return c;
}

class VcpuOp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.bootAndStart());
    std::memset(h.gpa(kArg, 0x30000), 0, 0x30000);
  }

  int64_t op(int cmd, uint64_t vcpu, uint64_t arg = kArg) { return h.hypercall(__HYPERVISOR_vcpu_op, cmd, vcpu, arg); }
  int64_t setTimerOp(uint64_t timeout) { return h.hypercall(__HYPERVISOR_set_timer_op, timeout); }

  // ---- event channels, driven from vCPU 0 ----
  uint32_t bindVirq(uint32_t virq, uint32_t vcpu) {
    evtchn_bind_virq_t b{};
    b.virq = virq;
    b.vcpu = vcpu;
    h.put(kEvArg, b);
    EXPECT_EQ(h.hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, kEvArg), 0);
    return h.get<evtchn_bind_virq_t>(kEvArg).port;
  }
  uint32_t bindIpi(uint32_t vcpu) {
    evtchn_bind_ipi_t b{};
    b.vcpu = vcpu;
    h.put(kEvArg, b);
    EXPECT_EQ(h.hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, kEvArg), 0);
    return h.get<evtchn_bind_ipi_t>(kEvArg).port;
  }
  int64_t send(uint32_t port) {
    h.put(kEvArg, evtchn_send_t{port});
    return h.hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, kEvArg);
  }
  shared_info_t* si() { return h.domain().sharedInfo().get(); }
  static xen_ulong_t bit(uint32_t port) { return xen_ulong_t{1} << (port % 64); }
  bool pending(uint32_t port) { return __atomic_load_n(&si()->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) & bit(port); }
  void clearPending(uint32_t port) { __atomic_fetch_and(&si()->evtchn_pending[port / 64], ~bit(port), __ATOMIC_SEQ_CST); }
  void mask(uint32_t port) { __atomic_fetch_or(&si()->evtchn_mask[port / 64], bit(port), __ATOMIC_SEQ_CST); }
  std::vector<std::pair<uint32_t, uint8_t>> msis() {
    auto rec = h.platform().vms().back();
    std::lock_guard lk(rec->m);
    return rec->msis;
  }

  // ---- vCPU 1 on its own thread ----
  /// Brings vCPU 1 up in long mode like vCPU 0; its thread then waits in the fake's run().
  ::testing::AssertionResult startVcpu1() {
    h.fake(1).mutableSregs() = h.fake(0).sregs();
    h.vcpu(1).markInitialised();
    if (const int64_t rc = op(VCPUOP_up, 1); rc != 0) return ::testing::AssertionFailure() << "VCPUOP_up: " << rc;
    if (!waitUntil([this] { return h.fake(1).runs.load() > 0; }))
      return ::testing::AssertionFailure() << "vCPU 1 never entered run()";
    return ::testing::AssertionSuccess();
  }
  /// Makes vCPU 1's guest issue hypercall `nr`; returns a ticket for done1().
  uint64_t call1(uint64_t nr, uint64_t a0, uint64_t a1 = 0, uint64_t a2 = 0) {
    FakeVcpu& f = h.fake(1);
    const uint64_t ticket = f.runs.load();  // it sits in run(): the next run() follows the hypercall
    kvm_regs& r = f.regs();
    r.rax = nr;
    r.rdi = a0;
    r.rsi = a1;
    r.rdx = a2;
    VcpuExit e{};
    e.reason = ExitReason::Io;
    e.io = IoExit{kHypercallPort, 4, false, 1, reinterpret_cast<uint8_t*>(&ioData_)};
    f.script(e);
    return ticket;
  }
  bool done1(uint64_t ticket) { return h.fake(1).runs.load() > ticket; }
  int64_t result1() { return static_cast<int64_t>(h.fake(1).regs().rax); }
  int64_t await1(uint64_t ticket) { return waitUntil([&] { return done1(ticket); }) ? result1() : kTimedOut; }
  bool blocked1() {
    return waitUntil([this] { return h.vcpu(1).runState() == VcpuRunState::Blocked; });
  }
  void putPoll(uint64_t at, const std::vector<uint32_t>& ports, uint64_t timeout) {
    for (size_t i = 0; i < ports.size(); ++i) h.put<evtchn_port_t>(at + 0x100 + 4 * i, ports[i]);
    sched_poll_t p{};
    set_xen_guest_handle(p.ports, reinterpret_cast<evtchn_port_t*>(at + 0x100));
    p.nr_ports = static_cast<unsigned>(ports.size());
    p.timeout = timeout;
    h.put(at, p);
  }

  uint32_t ioData_ = 0;
  std::atomic<int> upcalls{0};
  evtchn::EventChannels ec{[this](uint16_t, uint32_t vcpu) {
    upcalls++;
    (void)h.domain().raiseUpcall(vcpu);
  }};
  DomainHarness h{"vcpuop", 64, 2, 7, &ec};
};

// ---------------------------------------------------------------- ids, up, down

TEST_F(VcpuOp, UnknownVcpuIsEnoentWhateverTheCommand) {
  for (int cmd : {VCPUOP_initialise, VCPUOP_up, VCPUOP_down, VCPUOP_is_up, VCPUOP_get_runstate_info,
                  VCPUOP_register_runstate_memory_area, VCPUOP_set_periodic_timer, VCPUOP_stop_periodic_timer,
                  VCPUOP_set_singleshot_timer, VCPUOP_stop_singleshot_timer, VCPUOP_register_vcpu_info,
                  VCPUOP_get_physid, 99}) {
    EXPECT_EQ(op(cmd, 2), neg(ENOENT)) << cmd;
    EXPECT_EQ(op(cmd, 0xffffffff), neg(ENOENT)) << cmd;
  }
  EXPECT_EQ(h.domain().phase(), DomainPhase::Running) << "a down of a missing vCPU did nothing";
  EXPECT_EQ(h.shutdownCalls.load(), 0);
}

TEST_F(VcpuOp, UnknownCommandAndPhysid) {
  EXPECT_EQ(op(99, 0), neg(ENOSYS));
  EXPECT_EQ(op(VCPUOP_get_physid, 0), neg(EINVAL)) << "the hardware domain's only";
}

TEST_F(VcpuOp, UpBeforeInitialiseIsEinval) {
  EXPECT_EQ(op(VCPUOP_is_up, 1), 0);
  EXPECT_EQ(op(VCPUOP_up, 1), neg(EINVAL));
  EXPECT_EQ(op(VCPUOP_is_up, 1), 0);
  EXPECT_EQ(h.vcpu(1).runState(), VcpuRunState::Offline);
  EXPECT_EQ(h.fake(1).runs.load(), 0u) << "no thread was started";
}

TEST_F(VcpuOp, InitialiseThenUpDownUp) {
  h.put(kArg, longModeContext(0x100040));
  EXPECT_EQ(op(VCPUOP_initialise, 1), 0);
  EXPECT_TRUE(h.vcpu(1).initialised());
  EXPECT_EQ(h.fake(1).runnableMarks.load(), 1);
  EXPECT_EQ(h.fake(1).regs().rip, 0x100040u);
  EXPECT_EQ(h.fake(1).regs().rbx, 0xb0bu);
  EXPECT_EQ(h.fake(1).sregs().efer, paging::kEferLme | paging::kEferLma);
  EXPECT_EQ(h.fake(1).sregs().cs.l, 1);
  EXPECT_EQ(h.fake(1).sregs().cr3, test::kPml4);
  EXPECT_EQ(op(VCPUOP_is_up, 1), 0) << "initialise leaves it down, as on Xen";
  EXPECT_EQ(op(VCPUOP_initialise, 1), neg(EEXIST));
  EXPECT_EQ(h.fake(1).runnableMarks.load(), 1) << "the second context was not loaded";

  EXPECT_EQ(op(VCPUOP_up, 1), 0);
  EXPECT_EQ(op(VCPUOP_is_up, 1), 1);
  ASSERT_TRUE(waitUntil([&] { return h.fake(1).runs.load() > 0; })) << "vCPU 1 did not start running";
  EXPECT_EQ(op(VCPUOP_up, 1), 0) << "up when up is a no-op";

  EXPECT_EQ(op(VCPUOP_down, 1), 0);
  EXPECT_EQ(op(VCPUOP_is_up, 1), 0);
  ASSERT_TRUE(waitUntil([&] { return h.vcpu(1).runState() == VcpuRunState::Offline; }));
  EXPECT_EQ(op(VCPUOP_get_runstate_info, 1, kBuf), 0);
  EXPECT_EQ(h.get<vcpu_runstate_info_t>(kBuf).state, RUNSTATE_offline);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Running) << "vCPU 0 is still up";

  EXPECT_EQ(op(VCPUOP_up, 1), 0);
  ASSERT_TRUE(waitUntil([&] { return h.vcpu(1).runState() == VcpuRunState::Running; }));
  EXPECT_EQ(op(VCPUOP_is_up, 1), 1);
}

TEST_F(VcpuOp, InitialiseRefusals) {
  EXPECT_EQ(op(VCPUOP_initialise, 1, kRamEnd), neg(EFAULT));
  EXPECT_EQ(op(VCPUOP_initialise, 1, kUnmapped), neg(EFAULT));
  vcpu_hvm_context_t bad = longModeContext(0x100000);
  bad.mode = 5;
  h.put(kArg, bad);
  EXPECT_EQ(op(VCPUOP_initialise, 1), neg(EINVAL));
  h.put(kArg, longModeContext(0x0000800000000000));  // non-canonical RIP
  EXPECT_EQ(op(VCPUOP_initialise, 1), neg(EINVAL));
  EXPECT_FALSE(h.vcpu(1).initialised());
  EXPECT_EQ(h.fake(1).runnableMarks.load(), 0);
  EXPECT_EQ(h.fake(1).regs().rip, 0u) << "no register was touched";
  EXPECT_EQ(op(VCPUOP_up, 1), neg(EINVAL)) << "still not initialised";
  h.put(kArg, longModeContext(0x100000));
  EXPECT_EQ(op(VCPUOP_initialise, 0), neg(EEXIST)) << "vCPU 0 is initialised by the builder";
}

TEST_F(VcpuOp, DownOfTheLastVcpuUpPowersOff) {
  EXPECT_EQ(op(VCPUOP_down, 1), 0) << "down when down";
  EXPECT_EQ(h.shutdownCalls.load(), 0);
  EXPECT_EQ(op(VCPUOP_down, 0), 0);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Shutdown);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_poweroff));
  EXPECT_EQ(h.shutdownCalls.load(), 1);
}

TEST_F(VcpuOp, DownOfSelfWithAnotherVcpuUpParksIt) {
  ASSERT_TRUE(startVcpu1());
  EXPECT_EQ(op(VCPUOP_down, 0), 0);
  EXPECT_EQ(op(VCPUOP_is_up, 0), 0);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Running);
  ASSERT_TRUE(waitUntil([&] { return h.vcpu(0).runState() == VcpuRunState::Offline; }));
  EXPECT_EQ(op(VCPUOP_up, 0), 0);
  EXPECT_EQ(op(VCPUOP_is_up, 0), 1);
  // Back to where it was: paused with the domain.
  EXPECT_TRUE(waitUntil([&] { return h.vcpu(0).runState() == VcpuRunState::Parked; }));
}

TEST(VcpuOpManyVcpus, InitialisePast31NeedsARegisteredVcpuInfo) {
  DomainHarness h("many", 64, 33);
  ASSERT_TRUE(h.bootAndStart());
  h.put(kArg, longModeContext(0x100000));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_initialise, 32, kArg), neg(EINVAL))
      << "vCPU 32 has no vcpu_info in shared_info";
  EXPECT_EQ(h.domain().vcpuInfo(32), nullptr);
  constexpr uint64_t kGfn = 0x500;
  std::memset(h.gpa(kGfn << 12, 4096), 0xee, 4096);
  vcpu_register_vcpu_info_t r{};
  r.mfn = kGfn;
  r.offset = 128;
  h.put(kBuf, r);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 32, kBuf), 0);
  const auto* vi = reinterpret_cast<const vcpu_info_t*>(h.gpa((kGfn << 12) + 128, sizeof(vcpu_info_t)));
  EXPECT_EQ(h.domain().vcpuInfo(32), vi);
  // Xen's fresh vcpu_info: zeroed, events masked, everything marked pending.
  EXPECT_EQ(vi->evtchn_upcall_mask, 1);
  EXPECT_EQ(vi->evtchn_upcall_pending, 1);
  EXPECT_EQ(vi->evtchn_pending_sel, ~xen_ulong_t{0});
  EXPECT_EQ(vi->arch.cr2, 0u);
  EXPECT_EQ(vi->time.version, 0u) << "vCPU 32 never ran: no clock to publish";
  EXPECT_EQ(h.gpa(kGfn << 12)[127], 0xee);
  EXPECT_EQ(h.gpa(kGfn << 12)[128 + sizeof(vcpu_info_t)], 0xee);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_initialise, 32, kArg), 0);
  EXPECT_TRUE(h.vcpu(32).initialised());
}

// ---------------------------------------------------------------- vcpu_info

TEST_F(VcpuOp, RegisterVcpuInfoMovesItAndMarksEverythingPending) {
  h.domain().setHvmParam(HVM_PARAM_CALLBACK_IRQ, kVectorType | 0xf3);
  vcpu_info_t& old = si()->vcpu_info[0];
  old.evtchn_upcall_mask = 0;
  old.evtchn_pending_sel = 0x5;
  old.arch.cr2 = 0x1234;
  constexpr uint64_t kGfn = 0x500;
  std::memset(h.gpa(kGfn << 12, 4096), 0xee, 4096);
  vcpu_register_vcpu_info_t r{};
  r.mfn = kGfn;
  r.offset = 64;
  h.put(kArg, r);
  ASSERT_EQ(op(VCPUOP_register_vcpu_info, 0), 0);
  auto* nv = reinterpret_cast<vcpu_info_t*>(h.gpa((kGfn << 12) + 64, sizeof(vcpu_info_t)));
  EXPECT_EQ(h.domain().vcpuInfo(0), nv);
  EXPECT_EQ(nv->evtchn_upcall_mask, 0) << "copied from the old vcpu_info";
  EXPECT_EQ(nv->arch.cr2, 0x1234u);
  EXPECT_EQ(nv->evtchn_pending_sel, ~xen_ulong_t{0});
  EXPECT_EQ(nv->evtchn_upcall_pending, 1);
  EXPECT_EQ(nv->time.version % 2, 0u);
  EXPECT_NE(nv->time.version, 0u) << "time published into the new location";
  EXPECT_EQ(nv->time.tsc_to_system_mul, tscScaleFor(2'000'000'000).mul) << "the fake's 2 GHz";
  EXPECT_EQ(h.gpa(kGfn << 12)[63], 0xee);
  EXPECT_EQ(h.gpa(kGfn << 12)[64 + sizeof(vcpu_info_t)], 0xee);
  EXPECT_EQ(msis(), (std::vector<std::pair<uint32_t, uint8_t>>{{0, 0xf3}})) << "the upcall for the marked events";

  // Events now land in the new vcpu_info, not in shared_info's slot.
  nv->evtchn_pending_sel = 0;
  nv->evtchn_upcall_pending = 0;
  old.evtchn_pending_sel = 0;
  const uint32_t port = bindIpi(0);
  ASSERT_EQ(send(port), 0);
  EXPECT_EQ(nv->evtchn_pending_sel, xen_ulong_t{1} << (port / 64));
  EXPECT_EQ(nv->evtchn_upcall_pending, 1);
  EXPECT_EQ(old.evtchn_pending_sel, 0u);

  // Once only, as on Xen.
  r.offset = 0;
  h.put(kArg, r);
  EXPECT_EQ(op(VCPUOP_register_vcpu_info, 0), neg(EINVAL));
  EXPECT_EQ(h.domain().vcpuInfo(0), nv);
}

TEST_F(VcpuOp, RegisterVcpuInfoRefusals) {
  auto reg = [&](uint64_t mfn, uint32_t offset, uint64_t vcpu = 0) {
    vcpu_register_vcpu_info_t r{};
    r.mfn = mfn;
    r.offset = offset;
    h.put(kArg, r);
    return op(VCPUOP_register_vcpu_info, vcpu);
  };
  EXPECT_EQ(op(VCPUOP_register_vcpu_info, 0, kRamEnd), neg(EFAULT));
  EXPECT_EQ(op(VCPUOP_register_vcpu_info, 0, kUnmapped), neg(EFAULT));
  constexpr uint32_t kLast = 4096 - sizeof(vcpu_info_t);
  EXPECT_EQ(reg(0x500, kLast + 8), neg(EINVAL)) << "crosses the page end";
  EXPECT_EQ(reg(0x500, kLast + 1), neg(EINVAL));
  EXPECT_EQ(reg(0x500, 4096), neg(EINVAL));
  EXPECT_EQ(reg(0x500, 0xffffffff), neg(EINVAL));
  EXPECT_EQ(reg(0x500, 4), neg(EINVAL)) << "misaligned";
  EXPECT_EQ(reg(kRamEnd >> 12, 0), neg(EINVAL)) << "first frame past RAM";
  EXPECT_EQ(reg(0xfeff0, 0), neg(EINVAL)) << "MMIO hole";
  EXPECT_EQ(reg(uint64_t{1} << 52, 0), neg(EINVAL));
  EXPECT_EQ(reg(~uint64_t{0}, 0), neg(EINVAL)) << "gfn << 12 would wrap";
  EXPECT_EQ(reg(~uint64_t{0} >> 12, 0), neg(EINVAL));
  EXPECT_EQ(h.domain().vcpuInfo(0), &si()->vcpu_info[0]) << "nothing registered by a refusal";
  // Another vCPU only while it is down.
  ASSERT_TRUE(startVcpu1());
  EXPECT_EQ(reg(0x500, 0, 1), neg(EINVAL));
  EXPECT_EQ(h.domain().vcpuInfo(1), &si()->vcpu_info[1]);
  // The last offset that fits is fine.
  EXPECT_EQ(reg(0x500, kLast), 0);
  EXPECT_EQ(reinterpret_cast<uint8_t*>(h.domain().vcpuInfo(0)), h.gpa(0x500000 + kLast));
}

TEST_F(VcpuOp, RegisterVcpuInfoForADownVcpu) {
  si()->vcpu_info[1].arch.cr2 = 0x77;
  vcpu_register_vcpu_info_t r{};
  r.mfn = 0x501;
  r.offset = 0;
  h.put(kArg, r);
  EXPECT_EQ(op(VCPUOP_register_vcpu_info, 1), 0);
  const vcpu_info_t* vi = h.domain().vcpuInfo(1);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(vi), h.gpa(0x501000));
  EXPECT_EQ(vi->arch.cr2, 0x77u);
  EXPECT_EQ(vi->evtchn_upcall_mask, 1) << "copied: still masked";
  EXPECT_EQ(h.domain().vcpuInfo(0), &si()->vcpu_info[0]) << "vCPU 0's is unaffected";
}

// ---------------------------------------------------------------- runstate

TEST_F(VcpuOp, RunstateAreaIsWrittenAtRegistrationAndAfterBlocking) {
  std::memset(h.gpa(kBuf, 0x200), 0xee, 0x200);
  vcpu_register_runstate_memory_area_t area{};
  area.addr.p = kBuf;
  h.put(kArg, area);
  const uint64_t before = monotonicNs();
  EXPECT_EQ(op(VCPUOP_register_runstate_memory_area, 0), 0);
  EXPECT_EQ(h.vcpu(0).runstateArea(), kBuf);
  auto ri = h.get<vcpu_runstate_info_t>(kBuf);
  EXPECT_EQ(ri.state, RUNSTATE_runnable) << "vCPU 0 is paused";
  EXPECT_GT(ri.state_entry_time, 0u);
  EXPECT_LE(ri.state_entry_time, before);
  EXPECT_EQ(h.gpa(kBuf)[sizeof(vcpu_runstate_info_t)], 0xee);

  // Rewritten on the way back from SCHEDOP_block.
  std::memset(h.gpa(kBuf, sizeof ri), 0xee, sizeof ri);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_block), 0);
  EXPECT_EQ(h.get<vcpu_runstate_info_t>(kBuf).state, RUNSTATE_runnable);

  // Another vCPU's area, written with its own state.
  area.addr.p = kBuf + 0x100;
  h.put(kArg, area);
  EXPECT_EQ(op(VCPUOP_register_runstate_memory_area, 1), 0);
  EXPECT_EQ(h.get<vcpu_runstate_info_t>(kBuf + 0x100).state, RUNSTATE_offline);

  // Address 0 unregisters.
  area.addr.p = 0;
  h.put(kArg, area);
  EXPECT_EQ(op(VCPUOP_register_runstate_memory_area, 0), 0);
  EXPECT_EQ(h.vcpu(0).runstateArea(), 0u);
  std::memset(h.gpa(kBuf, sizeof ri), 0xee, sizeof ri);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_block), 0);
  EXPECT_EQ(h.gpa(kBuf)[0], 0xee) << "no longer written";
}

TEST_F(VcpuOp, RunstateAreaHostilePointers) {
  EXPECT_EQ(op(VCPUOP_register_runstate_memory_area, 0, kRamEnd), neg(EFAULT)) << "the argument itself";
  vcpu_register_runstate_memory_area_t area{};
  area.addr.p = kRamEnd - 8;  // straddles the end of RAM
  h.put(kArg, area);
  EXPECT_EQ(op(VCPUOP_register_runstate_memory_area, 0), neg(EFAULT));
  EXPECT_EQ(h.get<uint64_t>(kRamEnd - 8), 0u) << "nothing written past or before the end";
  area.addr.p = 0x0000800000000000ull;  // non-canonical
  h.put(kArg, area);
  EXPECT_EQ(op(VCPUOP_register_runstate_memory_area, 0), neg(EFAULT));
  // Later updates to an untranslatable area are dropped, not fatal.
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_block), 0);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Running);
}

// ---------------------------------------------------------------- timers

TEST_F(VcpuOp, SingleshotTimerRaisesVirqTimer) {
  const uint32_t port = bindVirq(VIRQ_TIMER, 0);
  ASSERT_GT(port, 0u);
  si()->vcpu_info[0].evtchn_upcall_mask = 0;
  const uint64_t deadline = monotonicNs() + 20 * kMs;
  h.put(kArg, vcpu_set_singleshot_timer_t{deadline, 0});
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 0), 0);
  // The upcall is raised after the port and vcpu_info bits are all set.
  ASSERT_TRUE(waitUntil([&] { return upcalls.load() == 1; }));
  EXPECT_TRUE(pending(port));
  EXPECT_GE(monotonicNs(), deadline);
  EXPECT_FALSE(h.vcpu(0).timers().singleshotArmed());
  EXPECT_EQ(si()->vcpu_info[0].evtchn_upcall_pending, 1);
}

TEST_F(VcpuOp, SingleshotTimerRules) {
  const uint32_t port = bindVirq(VIRQ_TIMER, 0);
  const uint64_t now = monotonicNs();
  // Only for the calling vCPU.
  h.put(kArg, vcpu_set_singleshot_timer_t{now + kHour, 0});
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 1), neg(EINVAL));
  EXPECT_FALSE(h.vcpu(1).timers().singleshotArmed());
  EXPECT_EQ(op(VCPUOP_stop_singleshot_timer, 1), neg(EINVAL));
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 0, kRamEnd), neg(EFAULT));
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 0, kUnmapped), neg(EFAULT));
  EXPECT_FALSE(h.vcpu(0).timers().singleshotArmed());
  // VCPU_SSHOTTMR_future: a future deadline is fine, a past one is -ETIME (Xen 4.17).
  h.put(kArg, vcpu_set_singleshot_timer_t{now + kHour, VCPU_SSHOTTMR_future});
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 0), 0);
  EXPECT_TRUE(h.vcpu(0).timers().singleshotArmed());
  EXPECT_EQ(op(VCPUOP_stop_singleshot_timer, 0), 0);
  EXPECT_FALSE(h.vcpu(0).timers().singleshotArmed());
  h.put(kArg, vcpu_set_singleshot_timer_t{now - 1, VCPU_SSHOTTMR_future});
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 0), neg(ETIME));
  EXPECT_FALSE(h.vcpu(0).timers().singleshotArmed());
  // Without the flag a past deadline fires at once.
  h.put(kArg, vcpu_set_singleshot_timer_t{now - 1, 0});
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 0), 0);
  EXPECT_TRUE(waitUntil([&] { return pending(port); }));
}

TEST_F(VcpuOp, EtimeLeavesAnArmedTimerAlone) {
  h.put(kArg, vcpu_set_singleshot_timer_t{monotonicNs() + kHour, 0});
  ASSERT_EQ(op(VCPUOP_set_singleshot_timer, 0), 0);
  h.put(kArg, vcpu_set_singleshot_timer_t{1, VCPU_SSHOTTMR_future});
  EXPECT_EQ(op(VCPUOP_set_singleshot_timer, 0), neg(ETIME));
  EXPECT_TRUE(h.vcpu(0).timers().singleshotArmed()) << "the refused call changed nothing";
}

TEST_F(VcpuOp, PeriodicTimerLimitsAreXens) {
  auto setPeriod = [&](uint64_t ns, uint64_t vcpu = 0) {
    h.put(kArg, vcpu_set_periodic_timer_t{ns});
    return op(VCPUOP_set_periodic_timer, vcpu);
  };
  constexpr uint64_t kStimeDeltaMax = ~0ull >> 2;
  EXPECT_EQ(setPeriod(0), neg(EINVAL));
  EXPECT_EQ(setPeriod(999'999), neg(EINVAL)) << "below Xen's 1 ms";
  EXPECT_EQ(setPeriod(kStimeDeltaMax + 1), neg(EINVAL)) << "above STIME_DELTA_MAX";
  EXPECT_EQ(setPeriod(~0ull), neg(EINVAL));
  EXPECT_EQ(h.vcpu(0).timers().periodNs(), 0u);
  EXPECT_EQ(op(VCPUOP_set_periodic_timer, 0, kRamEnd), neg(EFAULT));
  EXPECT_EQ(setPeriod(kStimeDeltaMax), 0);
  EXPECT_EQ(h.vcpu(0).timers().periodNs(), kStimeDeltaMax);
  // Any vCPU of the domain, not only the caller (unlike the singleshot timer).
  EXPECT_EQ(setPeriod(kHour, 1), 0);
  EXPECT_EQ(h.vcpu(1).timers().periodNs(), kHour);
  EXPECT_EQ(op(VCPUOP_stop_periodic_timer, 1), 0);
  EXPECT_EQ(h.vcpu(1).timers().periodNs(), 0u);
  EXPECT_EQ(h.vcpu(0).timers().periodNs(), kStimeDeltaMax) << "vCPU 0's untouched";
  EXPECT_EQ(op(VCPUOP_stop_periodic_timer, 0), 0);
  EXPECT_EQ(h.vcpu(0).timers().periodNs(), 0u);
}

TEST_F(VcpuOp, PeriodicTimerRaisesVirqTimerRepeatedly) {
  const uint32_t port = bindVirq(VIRQ_TIMER, 0);
  h.put(kArg, vcpu_set_periodic_timer_t{1'000'000});
  ASSERT_EQ(op(VCPUOP_set_periodic_timer, 0), 0);
  EXPECT_EQ(h.vcpu(0).timers().periodNs(), 1'000'000u);
  for (int tick = 0; tick < 3; ++tick) {
    ASSERT_TRUE(waitUntil([&] { return pending(port); })) << "tick " << tick;
    clearPending(port);  // the guest handles it; the next tick sets it again
  }
  EXPECT_EQ(op(VCPUOP_stop_periodic_timer, 0), 0);
}

TEST_F(VcpuOp, SetTimerOpArmsAndZeroCancels) {
  EXPECT_EQ(setTimerOp(monotonicNs() + kHour), 0);
  EXPECT_TRUE(h.vcpu(0).timers().singleshotArmed());
  EXPECT_EQ(setTimerOp(0), 0);
  EXPECT_FALSE(h.vcpu(0).timers().singleshotArmed());
  // It is the same timer as VCPUOP_set_singleshot_timer.
  h.put(kArg, vcpu_set_singleshot_timer_t{monotonicNs() + kHour, 0});
  ASSERT_EQ(op(VCPUOP_set_singleshot_timer, 0), 0);
  EXPECT_EQ(setTimerOp(0), 0);
  EXPECT_FALSE(h.vcpu(0).timers().singleshotArmed());
  // A past (positive) timeout fires at once.
  const uint32_t port = bindVirq(VIRQ_TIMER, 0);
  EXPECT_EQ(setTimerOp(1), 0);
  EXPECT_TRUE(waitUntil([&] { return pending(port); }));
}

TEST_F(VcpuOp, SetTimerOpHugeOrNegativeFiresIn100Ms) {
  const uint32_t port = bindVirq(VIRQ_TIMER, 0);
  for (const uint64_t timeout : {monotonicNs() + (uint64_t{1} << 51), uint64_t{1} << 63, ~uint64_t{0}}) {
    clearPending(port);
    const uint64_t t0 = monotonicNs();
    EXPECT_EQ(setTimerOp(timeout), 0) << std::hex << timeout;
    ASSERT_TRUE(waitUntil([&] { return pending(port); })) << "not the guest's wrapped deadline: 100 ms";
    EXPECT_GE(monotonicNs() - t0, 100 * kMs) << std::hex << timeout;
  }
}

TEST_F(VcpuOp, SetTimerOpJustUnder2To50NsIsTakenAsIs) {
  const uint32_t port = bindVirq(VIRQ_TIMER, 0);
  EXPECT_EQ(setTimerOp(monotonicNs() + (uint64_t{1} << 50) - 1'000'000'000), 0);
  std::this_thread::sleep_for(300ms);  // the 100 ms fallback would have fired
  EXPECT_FALSE(pending(port));
  EXPECT_TRUE(h.vcpu(0).timers().singleshotArmed());
}

TEST_F(VcpuOp, SetTimerOpFrom32BitCallerTakesTwoHalves) {
  const uint64_t deadline = monotonicNs() + kHour;
  if (deadline >> 32 == 0) GTEST_SKIP() << "needs a system time above 2^32 ns";
  h.setCompat32();
  // The low half alone is a time long past: it would fire at once.
  EXPECT_EQ(h.hypercall32(__HYPERVISOR_set_timer_op, deadline & 0xffffffff, deadline >> 32), 0u);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(h.vcpu(0).timers().singleshotArmed());
  EXPECT_EQ(h.hypercall32(__HYPERVISOR_set_timer_op, 0, 0), 0u);
  EXPECT_FALSE(h.vcpu(0).timers().singleshotArmed());
}

// ---------------------------------------------------------------- SCHEDOP_poll refusals (vCPU 0)

TEST_F(VcpuOp, PollRefusals) {
  auto poll = [&](uint64_t arg = kArg) { return h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, arg); };
  EXPECT_EQ(poll(kRamEnd), neg(EFAULT));
  EXPECT_EQ(poll(kUnmapped), neg(EFAULT));
  sched_poll_t p{};
  p.nr_ports = 129;
  set_xen_guest_handle(p.ports, reinterpret_cast<evtchn_port_t*>(kBuf));
  h.put(kArg, p);
  EXPECT_EQ(poll(), neg(EINVAL)) << "more than 128 ports";
  p.nr_ports = 0xffffffff;
  h.put(kArg, p);
  EXPECT_EQ(poll(), neg(EINVAL));
  p.nr_ports = 1;
  set_xen_guest_handle(p.ports, reinterpret_cast<evtchn_port_t*>(kUnmapped));
  h.put(kArg, p);
  EXPECT_EQ(poll(), neg(EFAULT)) << "ports array not mapped";
  p.nr_ports = 2;
  set_xen_guest_handle(p.ports, reinterpret_cast<evtchn_port_t*>(kRamEnd - 4));
  h.put(kArg, p);
  EXPECT_EQ(poll(), neg(EFAULT)) << "ports array straddles the end of RAM";
  putPoll(kArg, {4096}, 1);
  EXPECT_EQ(poll(), neg(EINVAL)) << "past the 2-level ABI's ports";
  putPoll(kArg, {0xffffffff}, 1);
  EXPECT_EQ(poll(), neg(EINVAL));
}

TEST_F(VcpuOp, PollChecksPortsInOrderAsXen) {
  const uint32_t port = bindIpi(0);
  mask(port);
  ASSERT_EQ(send(port), 0);
  putPoll(kArg, {port, 5000}, 0);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg), 0) << "a pending port ends it first";
  putPoll(kArg, {5000, port}, 0);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg), neg(EINVAL));
  std::vector<uint32_t> many(128);
  for (uint32_t i = 0; i < 128; ++i) many[i] = 4095 - i;  // unbound ports are simply not pending
  putPoll(kArg, many, 1);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg), 0);
}

TEST(VcpuOpNoEventChannels, PollIsEnosys) {
  DomainHarness h("noec");
  ASSERT_TRUE(h.bootAndStart());
  h.put(kArg, sched_poll_t{});
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg), neg(ENOSYS));
}

// ---------------------------------------------------------------- HVMOP_set_evtchn_upcall_vector

TEST_F(VcpuOp, UpcallVectorRefusals) {
  auto set = [&](uint32_t vcpu, uint8_t vector) {
    h.put(kArg, xen_hvm_evtchn_upcall_vector_t{vcpu, vector});
    return h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, kArg);
  };
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, kRamEnd), neg(EFAULT));
  EXPECT_EQ(set(0, 0x0f), neg(EINVAL)) << "exception vectors";
  EXPECT_EQ(set(0, 0), neg(EINVAL));
  EXPECT_EQ(set(99, 0x0f), neg(EINVAL)) << "the vector is checked before the vCPU";
  EXPECT_EQ(set(2, 0x40), neg(ENOENT));
  EXPECT_EQ(set(0xffffffff, 0x40), neg(ENOENT));
  EXPECT_EQ(h.vcpu(0).upcallVector(), 0);
  EXPECT_EQ(h.vcpu(1).upcallVector(), 0);
  EXPECT_TRUE(msis().empty());
}

TEST_F(VcpuOp, UpcallVectorIsPerVcpuAndWinsOverTheCallbackVia) {
  auto set = [&](uint32_t vcpu, uint8_t vector) {
    h.put(kArg, xen_hvm_evtchn_upcall_vector_t{vcpu, vector});
    return h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, kArg);
  };
  EXPECT_EQ(set(1, 0x10), 0);
  EXPECT_EQ(h.vcpu(1).upcallVector(), 0x10);
  EXPECT_EQ(h.vcpu(0).upcallVector(), 0);
  EXPECT_TRUE(msis().empty()) << "nothing pending for vCPU 1 yet";
  // Already pending: delivered at once (Xen's hvm_assert_evtchn_irq).
  si()->vcpu_info[0].evtchn_upcall_pending = 1;
  EXPECT_EQ(set(0, 0xfe), 0);
  EXPECT_EQ(msis(), (std::vector<std::pair<uint32_t, uint8_t>>{{0, 0xfe}}));
  h.domain().setHvmParam(HVM_PARAM_CALLBACK_IRQ, kVectorType | 0xf3);
  ASSERT_TRUE(h.domain().raiseUpcall(1).isOk());
  ASSERT_TRUE(h.domain().raiseUpcall(1).isOk());
  EXPECT_EQ(msis(), (std::vector<std::pair<uint32_t, uint8_t>>{{0, 0xfe}, {1, 0x10}, {1, 0x10}}))
      << "the LAPIC vector each time: the guest EOIs it, no reinjection";
  EXPECT_TRUE(h.fake(1).inServiceClears().empty());
}

// ---------------------------------------------------------------- blocking on vCPU 1's thread

class VcpuOpPoll : public VcpuOp {
 protected:
  void SetUp() override {
    VcpuOp::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(startVcpu1());
  }
};

TEST_F(VcpuOpPoll, ReturnsWhenAPolledMaskedPortGoesPending) {
  const uint32_t p = bindIpi(1);
  mask(p);  // masked: no upcall, only the poll itself can notice
  putPoll(kArg1, {p}, 0);
  const uint64_t t = call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1);
  ASSERT_TRUE(blocked1());
  EXPECT_EQ(op(VCPUOP_get_runstate_info, 1, kBuf), 0);
  EXPECT_EQ(h.get<vcpu_runstate_info_t>(kBuf).state, RUNSTATE_blocked);
  EXPECT_FALSE(done1(t));
  ASSERT_EQ(send(p), 0);
  EXPECT_EQ(await1(t), 0);
  EXPECT_TRUE(pending(p));
  EXPECT_EQ(upcalls.load(), 0);
}

TEST_F(VcpuOpPoll, OtherPortsDoNotEndItTheTimeoutDoes) {
  const uint32_t p = bindIpi(1), q = bindIpi(1);
  mask(p);
  mask(q);
  const uint64_t deadline = monotonicNs() + 200 * kMs;
  putPoll(kArg1, {p}, deadline);
  const uint64_t t = call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1);
  ASSERT_TRUE(blocked1());
  ASSERT_EQ(send(q), 0);
  EXPECT_EQ(await1(t), 0) << "a timeout is not an error";
  EXPECT_GE(h.vcpu(1).runstate().state_entry_time, deadline) << "woken before the timeout";
  EXPECT_FALSE(pending(p));
}

TEST_F(VcpuOpPoll, AnyOfSeveralPortsEndsIt) {
  const uint32_t p = bindIpi(1), q = bindIpi(1);
  mask(p);
  mask(q);
  putPoll(kArg1, {p, q}, 0);
  const uint64_t t = call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1);
  ASSERT_TRUE(blocked1());
  ASSERT_EQ(send(q), 0);
  EXPECT_EQ(await1(t), 0);
}

TEST_F(VcpuOpPoll, AnUpcallEndsIt) {
  const uint32_t p = bindIpi(1), q = bindIpi(1);
  mask(p);  // q stays unmasked: sending it raises an upcall for vCPU 1
  putPoll(kArg1, {p}, 0);
  const uint64_t t = call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1);
  ASSERT_TRUE(blocked1());
  ASSERT_EQ(send(q), 0);
  EXPECT_EQ(await1(t), 0);
  EXPECT_EQ(upcalls.load(), 1);
  EXPECT_FALSE(pending(p));
}

TEST_F(VcpuOpPoll, PendingPortOrPastTimeoutReturnsWithoutBlocking) {
  const uint32_t p = bindIpi(1), q = bindIpi(1);
  mask(p);
  ASSERT_EQ(send(p), 0);
  putPoll(kArg1, {q, p}, 0);
  EXPECT_EQ(await1(call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1)), 0);
  putPoll(kArg1, {q}, 1);  // timeout long past
  EXPECT_EQ(await1(call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1)), 0);
  EXPECT_EQ(h.vcpu(1).runstate().time[RUNSTATE_blocked], 0u) << "it never slept";
}

TEST_F(VcpuOpPoll, ZeroPortsWithATimeoutSleepsUntilIt) {
  const uint64_t deadline = monotonicNs() + 30 * kMs;
  putPoll(kArg1, {}, deadline);
  EXPECT_EQ(await1(call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1)), 0);
  EXPECT_GE(h.vcpu(1).runstate().state_entry_time, deadline);
  EXPECT_GT(h.vcpu(1).runstate().time[RUNSTATE_blocked], 0u);
}

TEST_F(VcpuOpPoll, RunstateAreaUpdatedAfterThePoll) {
  vcpu_register_runstate_memory_area_t area{};
  area.addr.p = kBuf;
  h.put(kArg1, area);
  ASSERT_EQ(await1(call1(__HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area, 1, kArg1)), 0);
  EXPECT_EQ(h.get<vcpu_runstate_info_t>(kBuf).state, RUNSTATE_running);
  std::memset(h.gpa(kBuf, sizeof(vcpu_runstate_info_t)), 0xee, sizeof(vcpu_runstate_info_t));
  const uint64_t deadline = monotonicNs() + 20 * kMs;
  putPoll(kArg1 + 0x1000, {}, deadline);
  ASSERT_EQ(await1(call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1 + 0x1000)), 0);
  const auto ri = h.get<vcpu_runstate_info_t>(kBuf);
  EXPECT_EQ(ri.state, RUNSTATE_running);
  EXPECT_GE(ri.state_entry_time, deadline);
  EXPECT_GT(ri.time[RUNSTATE_blocked], 0u);
}

TEST_F(VcpuOpPoll, SingleshotTimerFromItsOwnVcpu) {
  const uint32_t port = bindVirq(VIRQ_TIMER, 1);
  mask(port);  // no upcall: its wake would end the poll below early
  h.put(kArg1, vcpu_set_singleshot_timer_t{monotonicNs() + 10 * kMs, 0});
  EXPECT_EQ(await1(call1(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 1, kArg1)), 0);
  EXPECT_TRUE(waitUntil([&] { return pending(port); }));
  EXPECT_EQ(upcalls.load(), 0);
  // And a poll for the VIRQ port ends when the timer fires.
  clearPending(port);
  putPoll(kArg1 + 0x1000, {port}, 0);
  h.put(kArg1, vcpu_set_singleshot_timer_t{monotonicNs() + 20 * kMs, 0});
  EXPECT_EQ(await1(call1(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 1, kArg1)), 0);
  EXPECT_EQ(await1(call1(__HYPERVISOR_sched_op, SCHEDOP_poll, kArg1 + 0x1000)), 0);
  EXPECT_TRUE(pending(port));
}

TEST_F(VcpuOpPoll, BlockHonoursItsDeadline) {
  Vcpu& v = h.vcpu(1);
  const uint64_t deadline = monotonicNs() + 30 * kMs;
  EXPECT_FALSE(v.block(deadline)) << "a timeout";
  EXPECT_GE(v.runstate().state_entry_time, deadline);
  EXPECT_GT(v.runstate().time[RUNSTATE_blocked], 0u);
  v.wake();
  EXPECT_TRUE(v.block(monotonicNs() + 10'000 * kMs)) << "a pending wake ends it at once";
  EXPECT_FALSE(v.block(monotonicNs() + 10 * kMs)) << "the wake was consumed";
}

TEST_F(VcpuOpPoll, PortPendingWakesOnlyAPollerOfThatPort) {
  Vcpu& v = h.vcpu(1);
  v.setPolling(5);
  v.portPending(6);
  EXPECT_FALSE(v.block(monotonicNs() + 10 * kMs)) << "woken by a port it does not poll";
  v.setPolling(5);
  v.portPending(5);
  EXPECT_TRUE(v.block(monotonicNs() + 10'000 * kMs));
  v.setPolling(Vcpu::kAnyPort);
  v.portPending(4095);
  EXPECT_TRUE(v.block(monotonicNs() + 10'000 * kMs));
  v.portPending(5);  // block() ended the poll
  EXPECT_FALSE(v.block(monotonicNs() + 10 * kMs)) << "woken while not polling";
}

TEST_F(VcpuOpPoll, CallbackViaIsReinjectedAfterClearingItInService) {
  h.domain().setHvmParam(HVM_PARAM_CALLBACK_IRQ, kVectorType | 0xf3);
  ASSERT_TRUE(h.domain().raiseUpcall(1).isOk());
  EXPECT_EQ(msis(), (std::vector<std::pair<uint32_t, uint8_t>>{{1, 0xf3}}));
  EXPECT_TRUE(h.fake(1).inServiceClears().empty()) << "the first needs no clearing";
  // From the second on, the vCPU clears the vector itself, then injects it again.
  ASSERT_TRUE(h.domain().raiseUpcall(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return msis().size() == 2; }));
  EXPECT_EQ(msis()[1], (std::pair<uint32_t, uint8_t>{1, 0xf3}));
  EXPECT_EQ(h.fake(1).inServiceClears(), std::vector<uint8_t>{0xf3});
  ASSERT_TRUE(h.domain().raiseUpcall(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return msis().size() == 3; }));
  EXPECT_EQ(h.fake(1).inServiceClears(), (std::vector<uint8_t>{0xf3, 0xf3}));
}

// ---------------------------------------------------------------- PollWakingAbi

class RecordingAbi final : public evtchn::PortAbi {
 public:
  uint32_t maxPorts() const override { return 64; }
  bool setPending(uint32_t port, uint32_t) override {
    calls.push_back("set" + std::to_string(port));
    return port % 2 == 0;
  }
  void clearPending(uint32_t port) override { calls.push_back("clear" + std::to_string(port)); }
  bool unmask(uint32_t port, uint32_t) override {
    calls.push_back("unmask" + std::to_string(port));
    return true;
  }
  bool isPending(uint32_t port) const override { return port == 3; }
  bool isMasked(uint32_t port) const override { return port == 4; }
  void reset() override { calls.push_back("reset"); }
  void portFreed(uint32_t port) override { calls.push_back("freed" + std::to_string(port)); }
  std::vector<std::string>& calls;
  explicit RecordingAbi(std::vector<std::string>& c) : calls(c) {}
};

TEST(VcpuOpPollWakingAbi, ReportsEveryPendingPortAndForwardsTheRest) {
  std::vector<std::string> calls;
  std::vector<uint32_t> reported;
  PollWakingAbi abi(std::make_unique<RecordingAbi>(calls), [&](uint32_t port) { reported.push_back(port); });
  EXPECT_EQ(abi.maxPorts(), 64u);
  EXPECT_TRUE(abi.setPending(2, 0)) << "the inner ABI's upcall decision";
  EXPECT_FALSE(abi.setPending(7, 1)) << "no upcall (e.g. masked), still reported";
  EXPECT_EQ(reported, (std::vector<uint32_t>{2, 7}));
  abi.clearPending(2);
  EXPECT_TRUE(abi.unmask(7, 1));
  EXPECT_TRUE(abi.isPending(3));
  EXPECT_FALSE(abi.isPending(2));
  EXPECT_TRUE(abi.isMasked(4));
  abi.reset();
  abi.portFreed(9);
  EXPECT_EQ(reported, (std::vector<uint32_t>{2, 7})) << "only going pending is reported";
  EXPECT_EQ(calls, (std::vector<std::string>{"set2", "set7", "clear2", "unmask7", "reset", "freed9"}));
}

}  // namespace
}  // namespace smartvm::hv
