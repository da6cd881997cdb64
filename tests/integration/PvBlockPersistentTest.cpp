// Persistent grants (feature-persistent) end to end: a real guest's blkfront
// with persistent=1 and the real smartvm-blkback, xenstored, smartvm-hv and
// qemu-storage-daemon. The backend maps each grant once and keeps it for the
// connection (its device counts the maps), the pattern lands in the image and
// reads back, every mapping is gone when the frontend closes (the guest's
// grant ends all succeed: leaked_grants=0), the copy path still serves a
// frontend without the feature on the same image, and a guest destroyed
// mid-I/O with mappings held leaves the backend serving the next one.
// Skips without /dev/kvm or QEMU.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <vector>

#include "PvRig.h"
#include "lib/DiskPattern.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;
constexpr auto kHang = 60s;
constexpr uint32_t kXvda = 51712;

class PvBlockPersistentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = test::PvRig::unavailableReason(true);
    if (!why.empty()) GTEST_SKIP() << why;
    Status s = rig_.startHvAndXenstored();
    ASSERT_TRUE(s.isOk()) << s.toString();
    s = rig_.startBlkback();
    ASSERT_TRUE(s.isOk()) << s.toString();
    nodes_ = std::make_unique<dom0::XenstoreDomains>(rig_.xenstoredSocket());
    disks_ = std::make_unique<dom0::VbdDomains>(rig_.xenstoredSocket());
  }

  std::string makeRaw(const std::string& name, uint64_t bytes) {
    const std::string path = rig_.dir() + "/" + name;
    std::ofstream(path).close();
    std::filesystem::resize_file(path, bytes);
    return path;
  }

  v1::DomainConfig config(const std::string& name, const std::string& cmdline, const std::string& image) {
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
    d->set_format("raw");
    d->set_vdev("xvda");
    return c;
  }

  uint32_t start(const v1::DomainConfig& c) {
    auto info = rig_.hv().createDomain(c);
    EXPECT_TRUE(info.isOk()) << info.status().toString();
    if (!info.isOk()) return 0;
    const uint32_t domid = info->domid();
    nodes_->onCreated(*info);
    const Status a = disks_->attachAll(*info);
    EXPECT_TRUE(a.isOk()) << a.toString();
    EXPECT_TRUE(rig_.hv().unpause(domid).isOk());
    return domid;
  }

  std::string console(uint32_t domid) {
    auto con = rig_.hv().console(domid);
    return con.isOk() ? (*con)->snapshot() : std::string();
  }

  void destroy(uint32_t domid) {
    (void)rig_.hv().destroy(domid);
    nodes_->onDestroyed(domid);
    disks_->onDestroyed(domid);
  }

  /// Waits for the guest's shutdown; the domain (and its device) stay until destroy().
  std::string waitDone(uint32_t domid) {
    const Status s = rig_.hv().waitForShutdown(domid, kHang);
    EXPECT_TRUE(s.isOk()) << "the guest hung: " << s.toString();
    return console(domid);
  }

  template <typename F>
  static bool eventually(F ok, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!ok()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

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

  test::PvRig rig_;
  std::unique_ptr<dom0::XenstoreDomains> nodes_;
  std::unique_ptr<dom0::VbdDomains> disks_;
};

TEST_F(PvBlockPersistentTest, PatternGoesThroughGrantsMappedOnceAndAllAreUnmappedOnClose) {
  const std::string image = makeRaw("p.raw", 8 << 20);
  // 2048 sectors in requests of 11 pages, depth 4: about 24 requests per slot.
  const uint32_t id = start(config("p", "workload=blk start=64 count=2048 seed=61 depth=4 persistent=1", image));
  ASSERT_NE(id, 0u);
  const std::string out = waitDone(id);
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_NE(out.find("RESULT blk mode=rw vbd=51712 disk_sectors=16384 sector_size=512 start=64 count=2048 seed=61 "
                     "written=2048 read=2048 verified=2048 mismatches=0 flush=flush_diskcache "),
            std::string::npos)
      << out;
  // Every grant end succeeded: the backend had unmapped them all by the time it said Closed.
  EXPECT_NE(out.find(" leaked_grants=0 persistent=1"), std::string::npos) << out;

  const auto p = rig_.blkPersistent(id, kXvda);
  ASSERT_TRUE(p.has_value()) << "the device is served until the domain goes";
  EXPECT_TRUE(p->persistent) << "both ends offered feature-persistent";
  std::cout << "[ backend  ] persistent maps=" << p->maps << " requests=" << p->served << " live=" << p->live << "\n";
  // The guest grants each slot's 11 pages once; at depth 4 it uses slots 0..3,
  // so 44 grants, each mapped exactly once over 49 requests (48 of 11 pages).
  EXPECT_EQ(p->maps, 4u * 11u);
  EXPECT_GE(p->served, 48u);
  EXPECT_GT(p->served * 2, p->maps) << "mappings were reused, not made per request";
  EXPECT_EQ(p->live, 0u) << "the close unmapped every persistent grant";
  destroy(id);
  EXPECT_TRUE(eventually([&] { return !rig_.blkServes(id, kXvda); }));
  EXPECT_EQ(badSectors(image, 61, 64, 2048), 0u) << "the pattern is in the image";

  // A frontend without the feature is served by grant copies on the same image.
  const uint32_t id2 = start(config("c", "workload=blk mode=verify start=64 count=2048 seed=61", image));
  ASSERT_NE(id2, 0u);
  const std::string again = waitDone(id2);
  std::cout << "[ guest    ] " << resultLine(again) << "\n";
  EXPECT_NE(again.find(" read=2048 verified=2048 mismatches=0 "), std::string::npos) << again;
  EXPECT_EQ(again.find("persistent=1"), std::string::npos);
  const auto c = rig_.blkPersistent(id2, kXvda);
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->persistent);
  EXPECT_EQ(c->maps, 0u) << "the copy path maps nothing";
  destroy(id2);
}

TEST_F(PvBlockPersistentTest, DomainDestroyedWithMappingsHeldLeavesTheBackendServingTheNext) {
  const std::string image = makeRaw("d.raw", 16 << 20);
  const uint32_t id =
      start(config("gone", "workload=blk start=0 count=24576 seed=71 depth=8 timeout_ms=5000 persistent=1", image));
  ASSERT_NE(id, 0u);
  // Wait until the backend holds mappings of the running guest, then kill it.
  ASSERT_TRUE(eventually([&] {
    const auto p = rig_.blkPersistent(id, kXvda);
    return p && p->persistent && p->live > 0;
  })) << console(id);
  destroy(id);
  ASSERT_TRUE(eventually([&] { return !rig_.blkServes(id, kXvda); })) << "the device went with its domain";

  // The next guest, on the same image, with persistent grants again.
  const uint32_t next = start(config("next", "workload=blk start=64 count=512 seed=72 persistent=1", image));
  ASSERT_NE(next, 0u);
  const std::string out = waitDone(next);
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_NE(out.find(" written=512 read=512 verified=512 mismatches=0 "), std::string::npos) << out;
  EXPECT_NE(out.find(" leaked_grants=0 persistent=1"), std::string::npos) << out;
  const auto p = rig_.blkPersistent(next, kXvda);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->persistent);
  EXPECT_GT(p->maps, 0u);
  EXPECT_EQ(p->live, 0u);
  destroy(next);
  EXPECT_EQ(badSectors(image, 72, 64, 512), 0u);
}

}  // namespace
}  // namespace smartvm
