#pragma once
// The base of the tests that run in-tree guests on a Hypervisor of one pCPU
// (ApicTimerGuestTest, HaltCheckGuestTest): opens KVM or skips with the
// reason, starts the hypervisor with the credit policy on one host core, and
// creates a 32 MiB, one-vCPU guest and waits for a console line.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "OpenKvm.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"
#include "smartvm/hv/sched/HostScheduler.h"

namespace smartvm::hv {

template <class Base = ::testing::Test>
class OnePcpuGuestTest : public Base {
 protected:
  void SetUp() override {
    auto p = openKvmForTest();
    if (!p.isOk()) GTEST_SKIP() << p.status().message();
    platform_ = std::move(p).value();
  }
  void TearDown() override {
    hv_.reset();
    platform_.reset();
  }

  /// A fresh hypervisor: credit on one pCPU, the halt check every `haltCheckUs` (0 = off).
  void startHypervisor(int64_t haltCheckUs = HypervisorOptions{}.haltCheckUs) {
    hv_.reset();
    HypervisorOptions o;
    o.schedPolicy = "credit";
    o.pcpus = std::to_string(allowedHostCores().front());
    o.haltCheckUs = haltCheckUs;
    ASSERT_TRUE(Hypervisor::checkOptions(o).isOk());
    hv_ = std::make_unique<Hypervisor>(*platform_, o);
  }

  uint32_t create(const std::string& name, const std::string& cmdline) {
    v1::DomainConfig c;
    c.set_name(name);
    c.set_type(v1::DOMAIN_TYPE_PVH);
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
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return "";
  }

  std::unique_ptr<Platform> platform_;
  std::unique_ptr<Hypervisor> hv_;
};

}  // namespace smartvm::hv
