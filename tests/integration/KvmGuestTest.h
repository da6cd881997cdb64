#pragma once
// The base of the tests that run in-tree guests on a Hypervisor with default
// options (GuestTest, XenDriversGuestTest, EventChannelGuestTest,
// ParallelWorkloadTest): opens KVM or skips with the reason, creates guests
// from the in-tree kernel, reads their consoles and waits for them. A
// derived SetUp calls this one first and returns when it skipped (IsSkipped()).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "OpenKvm.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm::hv {

class KvmGuestTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::milliseconds kGuestHang{60'000};  // generous: only catches hangs

  void SetUp() override {
    auto p = openKvmForTest();
    if (!p.isOk()) GTEST_SKIP() << p.status().message();
    platform_ = std::move(p).value();
    hv_ = std::make_unique<Hypervisor>(*platform_, HypervisorOptions{});
  }
  void TearDown() override {
    hv_.reset();  // destroys every remaining domain
    platform_.reset();
  }

  /// A PVH guest of the in-tree kernel, preserved when it powers off or crashes.
  static v1::DomainConfig guestConfig(const std::string& name, const std::string& cmdline, uint64_t memMib = 64,
                                      uint32_t vcpus = 1, bool paused = false) {
    v1::DomainConfig c;
    c.set_name(name);
    c.set_type(v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(memMib);
    c.set_vcpus(vcpus);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline(cmdline);
    c.set_start_paused(paused);
    c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
    c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
    return c;
  }

  uint32_t create(const v1::DomainConfig& c) {
    auto r = hv_->createDomain(c);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r.isOk() ? r->domid() : 0;
  }

  std::string console(uint32_t domid) {
    auto c = hv_->console(domid);
    return c.isOk() ? (*c)->snapshot() : std::string();
  }

  /// Polls the console until it contains `what` (or the timeout passes).
  bool waitConsole(uint32_t domid, const std::string& what, std::chrono::milliseconds timeout = kGuestHang) {
    return waitUntil([&] { return console(domid).find(what) != std::string::npos; }, timeout);
  }

  /// Polls domainInfo until `pred` holds.
  bool waitInfo(uint32_t domid, const std::function<bool(const v1::DomainInfo&)>& pred,
                std::chrono::milliseconds timeout = kGuestHang) {
    return waitUntil(
        [&] {
          auto i = hv_->domainInfo(domid);
          return i.isOk() && pred(*i);
        },
        timeout);
  }

  v1::DomainInfo info(uint32_t domid) {
    auto i = hv_->domainInfo(domid);
    EXPECT_TRUE(i.isOk()) << i.status().toString();
    return i.isOk() ? *i : v1::DomainInfo{};
  }

  std::unique_ptr<KvmPlatform> platform_;
  std::unique_ptr<Hypervisor> hv_;

 private:
  static bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
};

}  // namespace smartvm::hv
