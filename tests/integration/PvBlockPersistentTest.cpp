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

#include "PvGuestFixture.h"
#include "lib/DiskPattern.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;
constexpr uint32_t kXvda = 51712;

class PvBlockPersistentTest : public test::PvGuestFixture {
 protected:
  /// start(), expecting the disk to attach.
  uint32_t start(const v1::DomainConfig& c) {
    Status attach;
    const uint32_t domid = PvGuestFixture::start(c, &attach);
    EXPECT_TRUE(attach.isOk()) << attach.toString();
    return domid;
  }
};

TEST_F(PvBlockPersistentTest, PatternGoesThroughGrantsMappedOnceAndAllAreUnmappedOnClose) {
  const std::string image = rig_.makeRawImage("p.raw", 8 << 20);
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
  const std::string image = rig_.makeRawImage("d.raw", 16 << 20);
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

/// smartvm-blkback --no-persistent-grants.
class PvBlockNoPersistentTest : public PvBlockPersistentTest {
 protected:
  void SetUp() override {
    rig_.blkbackPersistentGrants = false;
    PvBlockPersistentTest::SetUp();
  }
};

// A frontend that offers persistent grants to a backend that does not is
// served by grant copies: nothing is mapped, the pattern still lands.
TEST_F(PvBlockNoPersistentTest, ABackendWithoutTheFeatureCopiesEverySegment) {
  const std::string image = rig_.makeRawImage("np.raw", 8 << 20);
  const uint32_t id = start(config("np", "workload=blk start=64 count=1024 seed=81 depth=4 persistent=1", image));
  ASSERT_NE(id, 0u);
  const std::string out = waitDone(id);
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_NE(out.find(" read=1024 verified=1024 mismatches=0 "), std::string::npos) << out;
  EXPECT_NE(out.find(" persistent=1"), std::string::npos) << "the guest offered feature-persistent";
  const auto p = rig_.blkPersistent(id, kXvda);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->persistent);
  EXPECT_EQ(p->maps, 0u);
  destroy(id);
  EXPECT_EQ(badSectors(image, 81, 64, 1024), 0u) << "the pattern is in the image";
}

}  // namespace
}  // namespace smartvm
