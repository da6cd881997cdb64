// Hypervisor on FakePlatform: validation, domids, pause/unpause, destroy,
// shutdown and lifecycle actions.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <xen/event_channel.h>
#include <xen/sched.h>

#include "HvTestUtil.h"
#include "smartvm/hv/Hypervisor.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using smartvm::v1::DomainConfig;
using smartvm::v1::DomainState;
using smartvm::v1::LifecycleAction;
using test::makeConfig;
using test::TempFile;
using test::waitUntil;

class HypervisorTest : public ::testing::Test {
 protected:
  DomainConfig config(const std::string& name) { return makeConfig(name, kernel.path(), 32); }
  uint32_t create(const std::string& name) {
    auto r = hv.createDomain(config(name));
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r ? r->domid() : 0;
  }

  TempFile kernel{test::tinyPvhKernel()};
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
};

template <class T>
void expectError(const Result<T>& r, int code, const std::string& fragment = "") {
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), code) << r.status().toString();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

void expectError(const Status& s, int code, const std::string& fragment = "") {
  EXPECT_EQ(s.code(), code) << s.toString();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST_F(HypervisorTest, CreateValidation) {
  expectError(hv.createDomain(config("")), EINVAL, "invalid domain name");
  expectError(hv.createDomain(config("bad name")), EINVAL, "invalid domain name");
  expectError(hv.createDomain(config(std::string(65, 'a'))), EINVAL, "invalid domain name");
  expectError(hv.createDomain(config("Domain-0")), EEXIST, "Domain-0");
  auto zero = config("zero");
  zero.set_memory_mib(0);
  expectError(hv.createDomain(zero), EINVAL, "memory");
  auto rel = config("rel");
  rel.set_kernel("kernel.elf");
  expectError(hv.createDomain(rel), EINVAL, "absolute");
  auto relrd = config("relrd");
  relrd.set_ramdisk("initrd");
  expectError(hv.createDomain(relrd), EINVAL, "ramdisk");
  auto many = config("many");
  many.set_vcpus(129);
  expectError(hv.createDomain(many), EINVAL, "129");
  auto ports = config("ports");
  ports.set_max_event_channels(4097);
  expectError(hv.createDomain(ports), EINVAL, "max_event_channels = 4097");
  auto weight = config("weight");
  weight.set_cpu_weight(65536);
  expectError(hv.createDomain(weight), EINVAL, "cpu_weight = 65536");
  auto cap = config("cap");
  cap.set_cpu_cap(100 * 257);
  expectError(hv.createDomain(cap), EINVAL, "exceeds 100 per pCPU");
  auto cpus = config("cpus");
  cpus.set_cpus("0-300");
  expectError(hv.createDomain(cpus), EINVAL, "cpus: CPU");
  EXPECT_EQ(create("ok"), 1u) << "refusals before domid allocation use up no domid";
  auto missing = config("missing");
  missing.set_kernel("/tmp/smartvm-hv-test-does-not-exist");
  expectError(hv.createDomain(missing), ENOENT, "/tmp/smartvm-hv-test-does-not-exist");
  TempFile text(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', '\n'});
  auto notElf = config("notelf");
  notElf.set_kernel(text.path());
  expectError(hv.createDomain(notElf), ENOEXEC, text.path());
  EXPECT_EQ(hv.listDomains().size(), 2u) << "Domain-0 and 'ok': failures leave nothing behind";
  // A build failure happens after allocation; like Xen's domid rover, the id is not handed out again at once.
  EXPECT_EQ(create("ok2"), 4u);
}

TEST_F(HypervisorTest, DomidsAndList) {
  EXPECT_EQ(create("a"), 1u);
  EXPECT_EQ(create("b"), 2u);
  expectError(hv.createDomain(config("a")), EEXIST, "already exists");
  const auto list = hv.listDomains();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].domid(), 0u);
  EXPECT_EQ(list[0].name(), "Domain-0");
  EXPECT_EQ(list[0].state(), DomainState::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(list[1].domid(), 1u);
  EXPECT_EQ(list[1].name(), "a");
  EXPECT_EQ(list[1].memory_mib(), 32u);
  EXPECT_EQ(list[1].vcpus(), 1u);
  EXPECT_EQ(list[2].name(), "b");
  ASSERT_TRUE(hv.destroy(1).isOk());
  EXPECT_EQ(create("c"), 3u) << "domids are not reused at once";
  EXPECT_EQ(platform.vms().size(), 3u);
}

TEST_F(HypervisorTest, MaxEventChannelsLimitsTheDomainsPorts) {
  auto c = config("few");
  c.set_max_event_channels(8);
  auto info = hv.createDomain(c);
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  // Port 0 is reserved and the xenstore and console rings hold two (as xl's
  // would), so 5 ports fit; dom0 allocates on the guest's behalf.
  int allocated = 0;
  int64_t rc = 0;
  while (allocated < 20) {
    evtchn_alloc_unbound op{};
    op.dom = static_cast<domid_t>(info->domid());
    op.remote_dom = 0;
    rc = hv.eventChannels().allocUnbound(0, op);
    if (rc != 0) break;
    EXPECT_LT(op.port, 8u);
    ++allocated;
  }
  EXPECT_EQ(allocated, 5);
  EXPECT_EQ(rc, -ENOSPC);
}

TEST_F(HypervisorTest, ZeroVcpusMeansOne) {
  auto c = config("one");
  c.set_vcpus(0);
  auto r = hv.createDomain(c);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->vcpus(), 1u);
  EXPECT_EQ(r->config().vcpus(), 1u);
}

TEST_F(HypervisorTest, PauseAndUnpauseCount) {
  const uint32_t id = create("p");
  auto d = hv.find(id);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(waitUntil([&] { return d->state() == DomainState::DOMAIN_STATE_RUNNING; }));
  expectError(hv.unpause(id), EINVAL, "not paused");
  ASSERT_TRUE(hv.pause(id).isOk());
  EXPECT_EQ(d->vcpu(0)->runState(), VcpuRunState::Parked) << "pause waits until the vCPU is out";
  ASSERT_TRUE(hv.pause(id).isOk());
  EXPECT_EQ(hv.domainInfo(id)->state(), DomainState::DOMAIN_STATE_PAUSED);
  ASSERT_TRUE(hv.unpause(id).isOk());
  EXPECT_EQ(hv.domainInfo(id)->state(), DomainState::DOMAIN_STATE_PAUSED) << "still paused once";
  ASSERT_TRUE(hv.unpause(id).isOk());
  EXPECT_TRUE(waitUntil([&] { return d->state() == DomainState::DOMAIN_STATE_RUNNING; }));
  expectError(hv.unpause(id), EINVAL, "not paused");
}

TEST_F(HypervisorTest, PauseCountLimit) {
  const uint32_t id = create("lim");
  for (int i = 0; i < 255; ++i) ASSERT_TRUE(hv.pause(id).isOk()) << i;
  expectError(hv.pause(id), EOVERFLOW);
}

TEST_F(HypervisorTest, StartPaused) {
  auto c = config("sp");
  c.set_start_paused(true);
  auto r = hv.createDomain(c);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->state(), DomainState::DOMAIN_STATE_PAUSED);
  ASSERT_TRUE(hv.unpause(r->domid()).isOk());
  auto d = hv.find(r->domid());
  EXPECT_TRUE(waitUntil([&] { return d->state() == DomainState::DOMAIN_STATE_RUNNING; }));
}

// CreateDomain.hold_paused (the toolstack writes xenstore first): paused
// until one unpause, like start_paused, but a restart runs at once and the
// config does not say paused; start_paused restarts paused.
TEST_F(HypervisorTest, HoldPausedHoldsTheFirstStartOnly) {
  auto r = hv.createDomain(config("held"), /*holdPaused=*/true);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->state(), DomainState::DOMAIN_STATE_PAUSED);
  EXPECT_FALSE(r->config().start_paused());
  const uint32_t id = r->domid();
  ASSERT_TRUE(hv.unpause(id).isOk());
  expectError(hv.unpause(id), EINVAL, "not paused");
  auto d = hv.find(id);
  ASSERT_TRUE(waitUntil([&] { return d->state() == DomainState::DOMAIN_STATE_RUNNING; }));
  ASSERT_TRUE(hv.shutdown(id, SHUTDOWN_reboot, true).isOk());
  ASSERT_TRUE(waitUntil([&] { return d->restarts() == 1 && d->phase() == DomainPhase::Running; }));
  EXPECT_EQ(hv.domainInfo(id)->state(), DomainState::DOMAIN_STATE_RUNNING) << "the restart was not held";

  auto c = config("sp-again");
  c.set_start_paused(true);
  auto sp = hv.createDomain(c);
  ASSERT_TRUE(sp.isOk());
  ASSERT_TRUE(hv.unpause(sp->domid()).isOk());
  ASSERT_TRUE(hv.shutdown(sp->domid(), SHUTDOWN_reboot, true).isOk());
  auto spd = hv.find(sp->domid());
  ASSERT_TRUE(waitUntil([&] { return spd->restarts() == 1 && spd->phase() == DomainPhase::Running; }));
  EXPECT_EQ(hv.domainInfo(sp->domid())->state(), DomainState::DOMAIN_STATE_PAUSED) << "start_paused restarts paused";
}

TEST_F(HypervisorTest, DestroyKeepsRetiredConsole) {
  const uint32_t id = create("gone");
  auto d = hv.find(id);
  d->console().append("bye\n", 4);
  ASSERT_TRUE(hv.destroy(id).isOk());
  EXPECT_EQ(hv.find(id), nullptr);
  expectError(hv.domainInfo(id), ESRCH);
  auto con = hv.console(id);
  ASSERT_TRUE(con.isOk());
  auto chunk = (*con)->read(0, 100, 0ms);
  EXPECT_EQ(chunk.data, "bye\n");
  EXPECT_TRUE(chunk.closed);
  EXPECT_EQ(hv.listDomains().size(), 1u);
  expectError(hv.destroy(id), ESRCH, "no domain with id");
}

TEST_F(HypervisorTest, Domain0AndUnknownIds) {
  expectError(hv.pause(0), EINVAL, "control domain");
  expectError(hv.unpause(0), EINVAL, "control domain");
  expectError(hv.destroy(0), EINVAL, "control domain");
  expectError(hv.shutdown(0, SHUTDOWN_poweroff, true), EINVAL, "control domain");
  expectError(hv.pause(42), ESRCH, "42");
  expectError(hv.unpause(42), ESRCH);
  expectError(hv.destroy(42), ESRCH);
  expectError(hv.shutdown(42, SHUTDOWN_poweroff, true), ESRCH);
  expectError(hv.domainInfo(42), ESRCH);
  expectError(hv.console(42), ESRCH);
  EXPECT_TRUE(hv.waitForShutdown(42, 10ms).isOk()) << "a domain that does not exist is gone";
}

TEST(Lifecycle, Defaults) {
  DomainConfig c;
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_poweroff), smartvm::v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_reboot), smartvm::v1::LIFECYCLE_ACTION_RESTART);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_crash), smartvm::v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_suspend), smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_soft_reset), smartvm::v1::LIFECYCLE_ACTION_RESTART);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_watchdog), smartvm::v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(lifecycleActionFor(c, 200), smartvm::v1::LIFECYCLE_ACTION_DESTROY);
}

TEST(Lifecycle, Overrides) {
  DomainConfig c;
  c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_reboot(smartvm::v1::LIFECYCLE_ACTION_DESTROY);
  c.set_on_crash(smartvm::v1::LIFECYCLE_ACTION_RESTART);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_poweroff), smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_reboot), smartvm::v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(lifecycleActionFor(c, SHUTDOWN_crash), smartvm::v1::LIFECYCLE_ACTION_RESTART);
}

TEST_F(HypervisorTest, ShutdownWithoutForceIsRefused) {
  const uint32_t id = create("soft");
  expectError(hv.shutdown(id, SHUTDOWN_poweroff, false), EOPNOTSUPP, "PV control interface");
  EXPECT_EQ(hv.find(id)->phase(), DomainPhase::Running);
}

TEST_F(HypervisorTest, ForcedPoweroffPreserved) {
  auto c = config("keep");
  c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  auto r = hv.createDomain(c);
  ASSERT_TRUE(r.isOk());
  const uint32_t id = r->domid();
  ASSERT_TRUE(hv.shutdown(id, SHUTDOWN_poweroff, true).isOk());
  ASSERT_TRUE(hv.waitForShutdown(id, 5s).isOk());
  auto d = hv.find(id);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(waitUntil([&] { return d->vcpu(0) && d->vcpu(0)->runState() == VcpuRunState::Stopped; }));
  auto info = hv.domainInfo(id);
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state(), DomainState::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(info->shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_TRUE(hv.shutdown(id, SHUTDOWN_poweroff, false).isOk()) << "already shut down";
  // Give the reaper a moment: preserve must not remove it.
  std::this_thread::sleep_for(50ms);
  EXPECT_NE(hv.find(id), nullptr);
}

TEST_F(HypervisorTest, ForcedPoweroffDestroysByDefault) {
  const uint32_t id = create("bye");
  hv.find(id)->console().append("last words", 10);
  ASSERT_TRUE(hv.shutdown(id, SHUTDOWN_poweroff, true).isOk());
  ASSERT_TRUE(hv.waitForShutdown(id, 5s).isOk());
  EXPECT_TRUE(waitUntil([&] { return hv.find(id) == nullptr; }));
  auto con = hv.console(id);
  ASSERT_TRUE(con.isOk());
  EXPECT_EQ((*con)->snapshot(), "last words");
}

TEST_F(HypervisorTest, ForcedRebootRestartsWithSameDomid) {
  const uint32_t id = create("again");
  ASSERT_TRUE(hv.shutdown(id, SHUTDOWN_reboot, true).isOk());
  auto d = hv.find(id);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(waitUntil([&] { return d->restarts() == 1 && d->phase() == DomainPhase::Running; }));
  EXPECT_EQ(hv.find(id), d);
  EXPECT_EQ(platform.vms().size(), 2u) << "a restart builds a new VM";
  EXPECT_EQ(d->console().snapshot(), "\n[smartvm: domain restarted]\n");
  EXPECT_EQ(hv.domainInfo(id)->restarts(), 1u);
  EXPECT_EQ(hv.domainInfo(id)->shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_NONE);
}

TEST_F(HypervisorTest, GuestTripleFaultIsDestroyedOrPreserved) {
  platform.onCreateVcpu = [](test::FakeVcpu& v) {
    VcpuExit e{};
    e.reason = ExitReason::Shutdown;
    v.script(e);
  };
  auto keep = config("crashkeep");
  keep.set_on_crash(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  auto r = hv.createDomain(keep);
  ASSERT_TRUE(r.isOk());
  ASSERT_TRUE(hv.waitForShutdown(r->domid(), 5s).isOk());
  auto info = hv.domainInfo(r->domid());
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state(), DomainState::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(info->crash_detail(), "vCPU0: triple fault");
  EXPECT_EQ(info->shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);

  auto r2 = hv.createDomain(config("crashgone"));
  ASSERT_TRUE(r2.isOk());
  EXPECT_TRUE(waitUntil([&] { return hv.find(r2->domid()) == nullptr; }));
  EXPECT_NE(hv.find(r->domid()), nullptr) << "the preserved one stays";
}

TEST_F(HypervisorTest, WaitTimesOutOnRunningDomain) {
  const uint32_t id = create("busy");
  expectError(hv.waitForShutdown(id, 20ms), ETIMEDOUT, "did not shut down");
}

TEST_F(HypervisorTest, HostInfo) {
  create("h1");
  const auto h = hv.hostInfo("kvm 1.2");
  EXPECT_EQ(h.xen_version(), "4.17");
  EXPECT_EQ(h.xen_extra(), ".0-smartvm");
  EXPECT_EQ(h.nr_domains(), 2u);
  EXPECT_EQ(h.kvm_info(), "kvm 1.2");
  EXPECT_GT(h.nr_cpus(), 0u);
}

}  // namespace
}  // namespace smartvm::hv
