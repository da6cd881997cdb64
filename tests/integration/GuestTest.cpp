// Real guests on /dev/kvm: the in-tree PVH guest's workloads run in-process
// under a Hypervisor, and each test checks the answer the guest prints and the
// fate the hypervisor records. Skips with the reason when /dev/kvm is unusable.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "KvmGuestTest.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using smartvm::v1::DomainConfig;
using smartvm::v1::DomainInfo;

constexpr auto kHang = 60s;  // generous: only catches hangs

class GuestTest : public KvmGuestTest {
 protected:
  static DomainConfig config(const std::string& name, const std::string& cmdline, uint64_t memMib = 64) {
    return guestConfig(name, cmdline, memMib);
  }

  /// Runs a guest to its shutdown (preserved) and returns its console.
  std::string runToEnd(uint32_t domid) {
    const Status s = hv_->waitForShutdown(domid, kHang);
    EXPECT_TRUE(s.isOk()) << s.toString();
    return console(domid);
  }

  static size_t count(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
  }

};

TEST_F(GuestTest, BannerNamesSmartVmAndXen417) {
  const uint32_t id = create(config("banner", "workload=pi steps=1000"));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  ASSERT_FALSE(out.empty());
  const std::string first = out.substr(0, out.find('\n'));
  EXPECT_EQ(first.rfind("Smart-VM guest", 0), 0u) << first;
  EXPECT_NE(first.find("Xen 4.17"), std::string::npos) << first;
  EXPECT_NE(out.find("cmdline: workload=pi steps=1000"), std::string::npos) << out;
}

TEST_F(GuestTest, PiPrintsExactValueAndPowersOff) {
  const uint32_t id = create(config("pi", "workload=pi"));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("RESULT pi value=3.1415926536 steps=20000000\n"), std::string::npos) << out;
  const DomainInfo i = info(id);
  EXPECT_EQ(i.state(), smartvm::v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(i.shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_TRUE(i.crash_detail().empty()) << i.crash_detail();
}

TEST_F(GuestTest, DotMatchesHostComputation) {
  constexpr uint64_t n = 100000;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum += (i % 1000) * ((i * 7) % 1000);
  const uint32_t id = create(config("dot", "workload=dot n=" + std::to_string(n)));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("RESULT dot value=" + std::to_string(sum) + " n=" + std::to_string(n)), std::string::npos)
      << "expected " << sum << "\n" << out;
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
}

TEST_F(GuestTest, DotWithSlicesGivesTheSameAnswer) {
  constexpr uint64_t n = 100000;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum += (i % 1000) * ((i * 7) % 1000);
  const uint32_t id = create(config("dot4", "workload=dot slices=4 n=" + std::to_string(n)));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("RESULT dot value=" + std::to_string(sum)), std::string::npos) << out;
}

TEST_F(GuestTest, SelftestPassesEveryCheck) {
  const uint32_t id = create(config("selftest", "workload=selftest"));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("RESULT selftest passed=11 failed=0"), std::string::npos) << out;
  EXPECT_EQ(out.find("FAILED"), std::string::npos) << out;
  EXPECT_EQ(count(out, ": ok"), 11u) << out;
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
}

TEST_F(GuestTest, TripleFaultCrashesOnlyThatDomain) {
  const uint32_t spin = create(config("bystander", "workload=spin", 32));
  ASSERT_NE(spin, 0u);
  ASSERT_TRUE(waitConsole(spin, "RESULT spin")) << console(spin);

  const uint32_t tf = create(config("triplefault", "workload=triplefault", 32));
  ASSERT_NE(tf, 0u);
  const std::string out = runToEnd(tf);
  EXPECT_NE(out.find("triplefault: loading an empty IDT"), std::string::npos) << out;
  const DomainInfo i = info(tf);
  EXPECT_EQ(i.state(), smartvm::v1::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(i.shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
  EXPECT_NE(i.crash_detail().find("triple fault"), std::string::npos) << i.crash_detail();

  EXPECT_EQ(info(spin).state(), smartvm::v1::DOMAIN_STATE_RUNNING);
  ASSERT_TRUE(hv_->destroy(spin).isOk());
  EXPECT_FALSE(hv_->domainInfo(spin).isOk());
  ASSERT_TRUE(hv_->destroy(tf).isOk());
}

TEST_F(GuestTest, PokeReadsAllOnesAndPowersOff) {
  const uint32_t id = create(config("poke", "workload=poke", 32));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("RESULT poke ports=2 mmio=2 allones=yes"), std::string::npos) << out;
  const DomainInfo i = info(id);
  EXPECT_EQ(i.state(), smartvm::v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(i.shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
}

TEST_F(GuestTest, UnknownWorkloadCrashesWithFailLine) {
  const uint32_t id = create(config("bogus", "workload=nosuchthing", 32));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("FAIL unknown workload 'nosuchthing'"), std::string::npos) << out;
  const DomainInfo i = info(id);
  EXPECT_EQ(i.state(), smartvm::v1::DOMAIN_STATE_CRASHED);
  EXPECT_EQ(i.shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
}

TEST_F(GuestTest, CrashDefaultActionDestroysTheDomain) {
  DomainConfig c = config("bogus-destroy", "workload=nosuchthing", 32);
  c.set_on_crash(smartvm::v1::LIFECYCLE_ACTION_DEFAULT);
  const uint32_t id = create(c);
  ASSERT_NE(id, 0u);
  // Gone from the table once destroyed; its console stays readable for a while.
  const auto end = std::chrono::steady_clock::now() + kHang;
  while (hv_->domainInfo(id).isOk() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(hv_->domainInfo(id).isOk());
  EXPECT_NE(console(id).find("FAIL unknown workload"), std::string::npos);
}

TEST_F(GuestTest, PoweroffRestartRebootsTheGuest) {
  DomainConfig c = config("restarter", "workload=dot n=1000", 32);
  c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_RESTART);
  const uint32_t id = create(c);
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(waitInfo(id, [](const DomainInfo& i) { return i.restarts() >= 1; })) << console(id);
  ASSERT_TRUE(waitConsole(id, "RESULT dot value=")) << console(id);
  // Same domid after the restart; the console history shows each run.
  EXPECT_TRUE(waitInfo(id, [&](const DomainInfo& i) { return i.restarts() >= 1 && i.domid() == id; }));
  const auto end = std::chrono::steady_clock::now() + kHang;
  while (count(console(id), "Smart-VM guest") < 2 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(20ms);
  EXPECT_GE(count(console(id), "Smart-VM guest"), 2u) << console(id);
  EXPECT_NE(console(id).find("[smartvm: domain restarted]"), std::string::npos);
  // Destroy only once the loop guard has preserved it: destroying mid-restart
  // races (see DestroyDuringRestart below).
  ASSERT_TRUE(waitInfo(id, [](const DomainInfo& i) {
    return i.state() == smartvm::v1::DOMAIN_STATE_SHUTDOWN && i.restarts() >= 10;
  }));
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(hv_->destroy(id).isOk());
  EXPECT_FALSE(hv_->domainInfo(id).isOk());
}

TEST_F(GuestTest, RestartLoopGuardPreservesAfterTenRestarts) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < 1000; ++i) sum += (i % 1000) * ((i * 7) % 1000);
  DomainConfig c = config("looper", "workload=dot n=1000", 32);
  c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_RESTART);
  const uint32_t id = create(c);
  ASSERT_NE(id, 0u);
  // Between a shutdown and its restart the domain briefly reads as shut down too:
  // wait for the shutdown that follows the tenth restart.
  ASSERT_TRUE(waitInfo(id, [](const DomainInfo& i) {
    return i.state() == smartvm::v1::DOMAIN_STATE_SHUTDOWN && i.restarts() >= 10;
  })) << info(id).DebugString();
  std::this_thread::sleep_for(300ms);  // a restart would have happened by now
  const DomainInfo i = info(id);
  EXPECT_EQ(i.state(), smartvm::v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(i.restarts(), 10u);
  EXPECT_EQ(i.shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
  const std::string out = console(id);
  EXPECT_EQ(count(out, "RESULT dot value=" + std::to_string(sum) + " n=1000"), 11u) << out;
  EXPECT_EQ(count(out, "[smartvm: domain restarted]"), 10u) << out;
}

TEST_F(GuestTest, DestroyDuringRestart) {
  DomainConfig c = config("restart-destroy", "workload=dot n=1000", 32);
  c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_RESTART);
  const uint32_t id = create(c);
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(waitInfo(id, [](const DomainInfo& i) { return i.restarts() >= 2; }));
  ASSERT_TRUE(hv_->destroy(id).isOk());
  EXPECT_FALSE(hv_->domainInfo(id).isOk());
}

TEST_F(GuestTest, PausedGuestUsesNoCpuTime) {
  const uint32_t id = create(config("spinner", "workload=spin", 32));
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(waitConsole(id, "RESULT spin")) << console(id);
  ASSERT_TRUE(hv_->pause(id).isOk());
  EXPECT_EQ(info(id).state(), smartvm::v1::DOMAIN_STATE_PAUSED);
  std::this_thread::sleep_for(100ms);  // let the vCPU leave KVM_RUN
  const uint64_t a = info(id).cpu_time_ns();
  std::this_thread::sleep_for(300ms);
  const uint64_t b = info(id).cpu_time_ns();
  EXPECT_LE(b - a, 5'000'000u) << "cpu time grew while paused: " << a << " -> " << b;

  ASSERT_TRUE(hv_->unpause(id).isOk());
  EXPECT_TRUE(waitInfo(id, [&](const DomainInfo& i) {
    return i.state() == smartvm::v1::DOMAIN_STATE_RUNNING && i.cpu_time_ns() > b + 20'000'000u;
  })) << "cpu time did not grow after unpause: " << info(id).cpu_time_ns() << " vs " << b;
  EXPECT_FALSE(hv_->unpause(id).isOk());  // not paused any more
  ASSERT_TRUE(hv_->destroy(id).isOk());
}

TEST_F(GuestTest, DestroyOfSpinningGuestReturns) {
  const uint32_t id = create(config("spin-destroy", "workload=spin", 32));
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(waitConsole(id, "RESULT spin")) << console(id);
  auto f = std::async(std::launch::async, [&] { return hv_->destroy(id); });
  ASSERT_EQ(f.wait_for(kHang), std::future_status::ready) << "destroy hung";
  EXPECT_TRUE(f.get().isOk());
  EXPECT_FALSE(hv_->domainInfo(id).isOk());
  EXPECT_EQ(hv_->listDomains().size(), 1u);  // Domain-0 only
}

TEST_F(GuestTest, NonElfKernelIsENOEXEC) {
  char tmpl[] = "/tmp/smartvm-integration-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  const std::string text = "this is not an ELF file, just some text long enough to have a header\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  DomainConfig c = config("notelf", "", 32);
  c.set_kernel(tmpl);
  auto r = hv_->createDomain(c);
  ::unlink(tmpl);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ENOEXEC) << r.status().toString();
  EXPECT_FALSE(r.status().message().empty());
  EXPECT_EQ(hv_->listDomains().size(), 1u);
}

TEST_F(GuestTest, MemoryBeyondTheHostIsENOMEM) {
  auto r = hv_->createDomain(config("huge", "workload=idle", 10ull * 1024 * 1024));  // 10 TiB
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ENOMEM) << r.status().toString();
  EXPECT_FALSE(r.status().message().empty());
  EXPECT_EQ(hv_->listDomains().size(), 1u);
}

TEST_F(GuestTest, TwentyIdleGuestsListAndDestroy) {
  std::vector<uint32_t> ids;
  for (int i = 0; i < 20; ++i) {
    const uint32_t id = create(config("idle" + std::to_string(i), "workload=idle", 32));
    ASSERT_NE(id, 0u) << "guest " << i;
    ids.push_back(id);
  }
  for (uint32_t id : ids) ASSERT_TRUE(waitConsole(id, "RESULT idle")) << "domid " << id << ": " << console(id);
  const auto list = hv_->listDomains();
  EXPECT_EQ(list.size(), 21u);
  size_t live = 0;
  for (const auto& d : list) {
    if (d.domid() == 0) {
      EXPECT_EQ(d.name(), "Domain-0");
      continue;
    }
    if (d.state() == smartvm::v1::DOMAIN_STATE_RUNNING || d.state() == smartvm::v1::DOMAIN_STATE_BLOCKED) ++live;
  }
  EXPECT_EQ(live, 20u);
  for (uint32_t id : ids) EXPECT_TRUE(hv_->destroy(id).isOk()) << id;
  EXPECT_EQ(hv_->listDomains().size(), 1u);
}

TEST_F(GuestTest, DuplicateNameIsRefused) {
  const uint32_t id = create(config("twin", "workload=idle", 32));
  ASSERT_NE(id, 0u);
  auto r = hv_->createDomain(config("twin", "workload=idle", 32));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), EEXIST) << r.status().toString();
  ASSERT_TRUE(hv_->destroy(id).isOk());
}

}  // namespace
}  // namespace smartvm::hv
