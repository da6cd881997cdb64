#pragma once
// The fixture of the real-guest PV block tests: a PvRig with the block
// backend, the toolstack's hooks as smartvmd runs them (XenstoreDomains,
// VbdDomains), and helpers to boot a guest on a disk, wait for it and check
// the pattern it left in the image. Skips without /dev/kvm or QEMU.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "PvRig.h"
#include "lib/DiskPattern.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

namespace smartvm::test {

using namespace std::chrono_literals;

class PvGuestFixture : public ::testing::Test {
 protected:
  static constexpr auto kHang = 60s;

  void SetUp() override {
    const std::string why = test::PvRig::unavailableReason(true);
    if (!why.empty()) GTEST_SKIP() << why;
    Status s = rig_.startWithBlkback();
    ASSERT_TRUE(s.isOk()) << s.toString();
    nodes_ = std::make_unique<dom0::XenstoreDomains>(rig_.xenstoredSocket());
    disks_ = std::make_unique<dom0::VbdDomains>(rig_.xenstoredSocket());
  }

  v1::DomainConfig config(const std::string& name, const std::string& cmdline, const std::string& image,
                          const std::string& format = "raw") {
    v1::DomainConfig c;
    c.set_name(name);
    c.set_type(v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(64);
    c.set_vcpus(1);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline(cmdline);
    c.set_start_paused(true);
    c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
    c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
    auto* d = c.add_disks();
    d->set_target(image);
    d->set_format(format);
    d->set_vdev("xvda");
    return c;
  }

  /// Creates the domain paused, runs the toolstack's hooks as smartvmd does
  /// and unpauses it; returns its domid (0 when the create failed).
  uint32_t start(const v1::DomainConfig& c, Status* attach = nullptr) {
    auto info = rig_.hv().createDomain(c);
    EXPECT_TRUE(info.isOk()) << info.status().toString();
    if (!info.isOk()) return 0;
    const uint32_t domid = info->domid();
    nodes_->onCreated(*info);
    const Status a = disks_->attachAll(*info);
    if (attach) *attach = a;
    EXPECT_TRUE(rig_.hv().unpause(domid).isOk());
    return domid;
  }

  std::string console(uint32_t domid) {
    auto con = rig_.hv().console(domid);
    return con.isOk() ? (*con)->snapshot() : std::string();
  }

  /// Destroys the domain as smartvmd does: smartvm-hv first, then the hooks.
  void destroy(uint32_t domid) {
    (void)rig_.hv().destroy(domid);
    nodes_->onDestroyed(domid);
    disks_->onDestroyed(domid);
  }

  /// Waits until the guest has shut down, destroys it and returns its console.
  std::string finish(uint32_t domid) {
    if (domid == 0) return "";
    const Status s = rig_.hv().waitForShutdown(domid, kHang);
    EXPECT_TRUE(s.isOk()) << "the guest hung: " << s.toString();
    std::string out = console(domid);
    destroy(domid);
    return out;
  }

  /// Waits for the guest's shutdown; the domain (and its device) stay until destroy().
  std::string waitDone(uint32_t domid) {
    const Status s = rig_.hv().waitForShutdown(domid, kHang);
    EXPECT_TRUE(s.isOk()) << "the guest hung: " << s.toString();
    return console(domid);
  }

  /// start() then finish(): the console of a whole run.
  std::string boot(const v1::DomainConfig& c, Status* attach = nullptr) { return finish(start(c, attach)); }

  /// Polls `ok` every 20 ms for up to `limit`.
  template <typename F>
  static bool eventually(F ok, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!ok()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  /// The sectors [first, first + count) of `image` that do not hold the pattern of `seed`.
  static uint64_t badSectors(const std::string& image, uint64_t seed, uint64_t first, uint64_t count) {
    std::ifstream f(image, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(first * 512));
    std::vector<char> sector(512);
    uint64_t bad = 0;
    for (uint64_t s = first; s < first + count; ++s) {
      if (!f.read(sector.data(), 512) || diskpattern::check(sector.data(), seed, s) != diskpattern::kWordsPerSector)
        ++bad;
    }
    return bad;
  }

  static std::string resultLine(const std::string& out) {
    const size_t at = out.find("RESULT blk");
    const size_t fail = out.find("FAIL");
    const size_t from = at != std::string::npos ? at : fail;
    return from == std::string::npos ? "(no RESULT or FAIL)" : out.substr(from, out.find('\n', from) - from);
  }

  PvRig rig_;
  std::unique_ptr<dom0::XenstoreDomains> nodes_;
  std::unique_ptr<dom0::VbdDomains> disks_;
};

}  // namespace smartvm::test
