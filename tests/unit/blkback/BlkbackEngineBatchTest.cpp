// The engine's batches (one ring round): reads and writes go to the disk
// together, a flush or discard waits for what came before it, a request
// overlapping one in flight waits for it, and a bad request fails alone.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "BlkbackFakes.h"
#include "smartvm/dom0/blkback/BlkbackEngine.h"

namespace smartvm::dom0::blkback {
namespace {

using test::FakeGrants;
using test::MemDisk;
using test::onePage;

constexpr uint64_t kDisk = 1024 * 512;  // 1024 sectors

class BlkbackEngineBatchTest : public ::testing::Test {
 protected:
  std::vector<blkif_response> run(const std::vector<blkif_request>& reqs) {
    std::vector<blkif_response> rsps(reqs.size());
    engine.handleBatch(reqs, rsps);
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(rsps[i].id, reqs[i].id) << "response " << i << " answers request " << i;
      EXPECT_EQ(rsps[i].operation, reqs[i].operation);
    }
    return rsps;
  }
  FakeGrants::Page& filled(grant_ref_t ref, uint8_t seed) {
    FakeGrants::Page& p = grants.grant(ref);
    for (size_t i = 0; i < p.bytes.size(); ++i) p.bytes[i] = static_cast<uint8_t>(i * 7 + seed);
    return p;
  }
  bool onDisk(uint64_t sector, grant_ref_t ref) {
    return std::memcmp(disk.data.data() + sector * 512, grants.pages[ref].bytes.data(), 4096) == 0;
  }

  MemDisk disk{kDisk};
  FakeGrants grants;
  BlkbackEngine engine{disk, grants};
};

TEST_F(BlkbackEngineBatchTest, ReadsAndWritesOfARoundGoToTheDiskTogether) {
  filled(1, 1);
  filled(2, 2);
  std::memset(disk.data.data() + 64 * 512, 0xAB, 4096);
  grants.grant(3);
  const auto rsps = run({onePage(BLKIF_OP_WRITE, 10, 0, 1), onePage(BLKIF_OP_WRITE, 11, 8, 2), onePage(BLKIF_OP_READ, 12, 64, 3)});
  for (const auto& r : rsps) EXPECT_EQ(r.status, BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.batches, std::vector<size_t>{3}) << "one submit of three";
  EXPECT_TRUE(onDisk(0, 1));
  EXPECT_TRUE(onDisk(8, 2));
  EXPECT_EQ(grants.pages[3].bytes, std::vector<uint8_t>(4096, 0xAB)) << "the read reached the guest's page";
  EXPECT_EQ(engine.stats().writes, 2u);
  EXPECT_EQ(engine.stats().reads, 1u);
  EXPECT_EQ(engine.stats().sectorsWritten, 16u);
}

TEST_F(BlkbackEngineBatchTest, AFlushOrDiscardWaitsForEverythingBeforeIt) {
  filled(1, 1);
  filled(2, 2);
  filled(3, 3);
  blkif_request_discard d{};
  d.operation = BLKIF_OP_DISCARD;
  d.id = 5;
  d.sector_number = 512;
  d.nr_sectors = 8;
  blkif_request discard{};
  static_assert(sizeof d <= sizeof discard);
  std::memcpy(&discard, &d, sizeof d);
  const auto rsps = run({onePage(BLKIF_OP_WRITE, 1, 0, 1), onePage(BLKIF_OP_WRITE, 2, 8, 2),
                         onePage(BLKIF_OP_FLUSH_DISKCACHE, 3, 0, 0), onePage(BLKIF_OP_WRITE, 4, 16, 3), discard});
  for (const auto& r : rsps) EXPECT_EQ(r.status, BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.log, "[ww]F[w]D") << "the flush after both writes, the discard after the third";
}

TEST_F(BlkbackEngineBatchTest, ARequestOverlappingOneInFlightWaitsForIt) {
  filled(1, 1);
  grants.grant(2);
  filled(3, 3);
  filled(4, 4);
  // Write sector 0, read it back, write sectors 4..11 (overlaps the first),
  // write sector 100 (overlaps nothing in flight after that).
  const auto rsps = run({onePage(BLKIF_OP_WRITE, 1, 0, 1), onePage(BLKIF_OP_READ, 2, 0, 2), onePage(BLKIF_OP_WRITE, 3, 4, 3),
                         onePage(BLKIF_OP_WRITE, 4, 100, 4)});
  for (const auto& r : rsps) EXPECT_EQ(r.status, BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.batches, (std::vector<size_t>{1, 1, 2})) << "read after write, write after read of one range";
  EXPECT_EQ(grants.pages[2].bytes, grants.pages[1].bytes) << "the read saw the write before it in the ring";
  EXPECT_EQ(std::memcmp(disk.data.data() + 4 * 512, grants.pages[3].bytes.data(), 4096), 0) << "the later write won";
  // Reads of one range do not wait for each other.
  grants.grant(5);
  grants.grant(6);
  disk.batches.clear();
  run({onePage(BLKIF_OP_READ, 7, 0, 5), onePage(BLKIF_OP_READ, 8, 0, 6)});
  EXPECT_EQ(disk.batches, std::vector<size_t>{2});
}

TEST_F(BlkbackEngineBatchTest, ABadRequestFailsAloneAndTheOthersAreServed) {
  filled(1, 1);
  grants.grant(4);
  filled(5, 5);
  const auto rsps = run({onePage(BLKIF_OP_WRITE, 1, 0, 1),
                         onePage(BLKIF_OP_WRITE, 2, 8, 77),     // never granted
                         onePage(BLKIF_OP_READ, 3, 1020, 4),    // runs past the end
                         onePage(BLKIF_OP_READ, 4, 0, 4),       // overlaps request 1: waits for it
                         onePage(99, 5, 0, 1),                  // unknown operation
                         onePage(BLKIF_OP_WRITE, 6, 16, 5)});
  EXPECT_EQ(rsps[0].status, BLKIF_RSP_OKAY);
  EXPECT_EQ(rsps[1].status, BLKIF_RSP_ERROR);
  EXPECT_EQ(rsps[2].status, BLKIF_RSP_ERROR);
  EXPECT_EQ(rsps[3].status, BLKIF_RSP_OKAY);
  EXPECT_EQ(rsps[4].status, BLKIF_RSP_EOPNOTSUPP);
  EXPECT_EQ(rsps[5].status, BLKIF_RSP_OKAY);
  EXPECT_EQ(grants.pages[4].bytes, grants.pages[1].bytes);
  EXPECT_TRUE(onDisk(16, 5));
  EXPECT_EQ(disk.data[8 * 512], 0) << "the failed write wrote nothing";
  EXPECT_EQ(engine.stats().errors, 2u);
  EXPECT_EQ(engine.stats().unsupported, 1u);
}

TEST_F(BlkbackEngineBatchTest, NoMoreThanMaxInFlightAtOnce) {
  BlkbackEngine limited(disk, grants, BlkbackLimits{256, 4});
  std::vector<blkif_request> reqs;
  for (grant_ref_t i = 0; i < 10; ++i) {
    filled(i + 1, static_cast<uint8_t>(i));
    reqs.push_back(onePage(BLKIF_OP_WRITE, i, i * 8, i + 1));
  }
  std::vector<blkif_response> rsps(reqs.size());
  limited.handleBatch(reqs, rsps);
  for (const auto& r : rsps) EXPECT_EQ(r.status, BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.batches, (std::vector<size_t>{4, 4, 2}));
  for (grant_ref_t i = 0; i < 10; ++i) EXPECT_TRUE(onDisk(i * 8, i + 1)) << "write " << i;
}

}  // namespace
}  // namespace smartvm::dom0::blkback
