// A guest that idles in `sti; hlt` waiting for its own LAPIC timer, sharing
// one pCPU with a spinning guest under the credit scheduler. When the
// scheduler kicks it while halted, Smart-VM blocks it to give the pCPU away;
// the block must end at the LAPIC timer, which KVM only delivers inside
// KVM_RUN, or the guest would wait forever. Skips with the reason when
// /dev/kvm is unusable.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"
#include "smartvm/hv/sched/HostScheduler.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using smartvm::v1::DomainConfig;

constexpr uint64_t kTicks = 20;
constexpr uint64_t kPeriodMs = 10;

class ApicTimerGuestTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const std::string why = kvmUnavailableReason();
    if (!why.empty()) GTEST_SKIP() << "/dev/kvm unusable: " << why;
    auto p = KvmPlatform::open();
    if (!p.isOk()) GTEST_SKIP() << "KvmPlatform::open failed: " << p.status().toString();
    platform_ = std::move(p).value();
    HypervisorOptions o;
    o.schedPolicy = "credit";
    o.pcpus = std::to_string(allowedHostCores().front());  // one pCPU for both guests
    ASSERT_TRUE(Hypervisor::checkOptions(o).isOk());
    hv_ = std::make_unique<Hypervisor>(*platform_, o);
  }
  void TearDown() override {
    hv_.reset();
    platform_.reset();
  }

  uint32_t create(const std::string& name, const std::string& cmdline) {
    DomainConfig c;
    c.set_name(name);
    c.set_type(smartvm::v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(32);
    c.set_vcpus(1);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline(cmdline);
    c.set_cpus("all");
    auto r = hv_->createDomain(c);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r.isOk() ? r->domid() : 0;
  }
  /// The console line holding `text`, once printed within `timeout`; "" if never.
  std::string waitFor(uint32_t domid, const std::string& text, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto con = hv_->console(domid);
      if (con.isOk()) {
        const std::string all = (*con)->snapshot();
        const size_t at = all.find(text);
        if (at != std::string::npos) return all.substr(at, all.find('\n', at) - at);
      }
      std::this_thread::sleep_for(5ms);
    }
    return "";
  }

  std::unique_ptr<Platform> platform_;
  std::unique_ptr<Hypervisor> hv_;
};

/// The value of `key=` in a RESULT line (0 when absent).
uint64_t field(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + "=");
  return at == std::string::npos ? 0 : std::stoull(line.substr(at + key.size() + 2));
}

TEST_P(ApicTimerGuestTest, AHaltedGuestWakesForItsLapicTimerBesideASpinner) {
  const uint32_t spinner = create("spinner", "workload=spin");
  ASSERT_FALSE(waitFor(spinner, "RESULT spin", 30s).empty()) << "the spinner never started";
  const auto t0 = std::chrono::steady_clock::now();
  const uint32_t ticker = create("ticker", "workload=apictimer mode=" + std::string(GetParam()) +
                                               " ticks=" + std::to_string(kTicks) +
                                               " period_ms=" + std::to_string(kPeriodMs));
  // Held from the start: the guest powers off after its RESULT line, and the
  // hypervisor then drops the domain.
  const std::shared_ptr<Domain> d = hv_->find(ticker);
  ASSERT_NE(d, nullptr);
  const std::string line = waitFor(ticker, "RESULT apictimer", 30s);
  const auto wall = std::chrono::steady_clock::now() - t0;
  const uint64_t halts = d->counters().haltBlocks.load(), timed = d->counters().timedHaltBlocks.load();
  std::cout << "apictimer " << GetParam() << ": " << line << " wall_ms="
            << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count() << " halt_blocks=" << halts
            << " timed_halt_blocks=" << timed << "\n";
  ASSERT_FALSE(line.empty()) << "the guest missed LAPIC timer ticks (halt blocks " << halts << ", timed " << timed
                             << ")";
  EXPECT_EQ(field(line, "ticks"), kTicks);
  EXPECT_GE(field(line, "elapsed_us"), kTicks * kPeriodMs * 1000) << "ticks came early (guest's Xen time)";
  EXPECT_GE(wall, std::chrono::milliseconds(kTicks * kPeriodMs));
  EXPECT_GT(timed, 0u) << "the scheduler never found it halted: the test did not exercise the timed block";
}

INSTANTIATE_TEST_SUITE_P(Modes, ApicTimerGuestTest, ::testing::Values("oneshot", "periodic"));

}  // namespace
}  // namespace smartvm::hv
