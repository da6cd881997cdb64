// The blkif engine against a memory disk and memory grants: data lands where
// the request says, every malformed or hostile request is answered with
// BLKIF_RSP_ERROR or BLKIF_RSP_EOPNOTSUPP without touching the disk, and the
// next good request is served as usual.
#include <gtest/gtest.h>

#include <cstring>

#include "BlkbackFakes.h"
#include "smartvm/dom0/blkback/BlkbackEngine.h"

namespace smartvm::dom0::blkback {
namespace {

using test::FakeGrants;
using test::MemDisk;

constexpr uint64_t kDisk = 1024 * 512;  // 1024 sectors

blkif_request rw(uint8_t op, uint64_t sector, std::initializer_list<blkif_request_segment> segs, uint64_t id = 7) {
  blkif_request r{};
  r.operation = op;
  r.id = id;
  r.sector_number = sector;
  r.nr_segments = static_cast<uint8_t>(segs.size());
  size_t i = 0;
  for (const auto& s : segs) r.seg[i++] = s;
  return r;
}

void fill(FakeGrants::Page& p, uint8_t seed) {
  for (size_t i = 0; i < p.bytes.size(); ++i) p.bytes[i] = static_cast<uint8_t>(i * 13 + seed);
}

class BlkbackEngineTest : public ::testing::Test {
 protected:
  MemDisk disk{kDisk};
  FakeGrants grants;
  BlkbackEngine engine{disk, grants};

  int16_t status(const blkif_request& r) {
    const blkif_response rsp = engine.handle(r);
    EXPECT_EQ(rsp.id, r.id) << "the id is echoed";
    EXPECT_EQ(rsp.operation, r.operation);
    return rsp.status;
  }
  void expectGoodRequestStillServed() {
    fill(grants.grant(900), 0x5A);
    ASSERT_EQ(status(rw(BLKIF_OP_WRITE, 0, {{900, 0, 7}}, 99)), BLKIF_RSP_OKAY) << "the next good request";
    EXPECT_EQ(0, std::memcmp(disk.data.data(), grants.pages[900].bytes.data(), 4096));
  }
};

TEST_F(BlkbackEngineTest, WriteGathersSegmentsAndReadScattersThem) {
  fill(grants.grant(1), 1);
  fill(grants.grant(2), 2);
  fill(grants.grant(3), 3);
  // Sectors 2..7 of page 1, all of page 2, sector 0 of page 3: 6 + 8 + 1 sectors from sector 10.
  ASSERT_EQ(status(rw(BLKIF_OP_WRITE, 10, {{1, 2, 7}, {2, 0, 7}, {3, 0, 0}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 10 * 512, grants.pages[1].bytes.data() + 2 * 512, 6 * 512));
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 16 * 512, grants.pages[2].bytes.data(), 8 * 512));
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 24 * 512, grants.pages[3].bytes.data(), 512));
  EXPECT_EQ(disk.data[25 * 512], 0) << "nothing past the request";
  grants.grant(10);
  grants.grant(11);
  ASSERT_EQ(status(rw(BLKIF_OP_READ, 16, {{10, 0, 7}, {11, 3, 3}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(grants.pages[10].bytes, grants.pages[2].bytes);
  EXPECT_EQ(0, std::memcmp(grants.pages[11].bytes.data() + 3 * 512, grants.pages[3].bytes.data(), 512));
  EXPECT_EQ(grants.pages[11].bytes[0], 0) << "only the segment's sectors are written into the page";
  EXPECT_EQ(engine.stats().writes, 1u);
  EXPECT_EQ(engine.stats().sectorsWritten, 15u);
  EXPECT_EQ(engine.stats().sectorsRead, 9u);
}

TEST_F(BlkbackEngineTest, RangeAndSegmentChecksAnswerError) {
  grants.grant(1);
  EXPECT_EQ(status(rw(BLKIF_OP_READ, 1024, {{1, 0, 0}})), BLKIF_RSP_ERROR) << "first sector past the end";
  EXPECT_EQ(status(rw(BLKIF_OP_READ, 1020, {{1, 0, 7}})), BLKIF_RSP_ERROR) << "runs past the end";
  EXPECT_EQ(status(rw(BLKIF_OP_READ, UINT64_MAX - 2, {{1, 0, 7}})), BLKIF_RSP_ERROR) << "wraps around";
  EXPECT_EQ(status(rw(BLKIF_OP_READ, 0, {})), BLKIF_RSP_ERROR) << "no segments";
  blkif_request many = rw(BLKIF_OP_READ, 0, {{1, 0, 0}});
  many.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
  EXPECT_EQ(status(many), BLKIF_RSP_ERROR) << "more than 11 segments";
  EXPECT_EQ(status(rw(BLKIF_OP_READ, 0, {{1, 0, 8}})), BLKIF_RSP_ERROR) << "last_sect past the page";
  EXPECT_EQ(status(rw(BLKIF_OP_READ, 0, {{1, 5, 4}})), BLKIF_RSP_ERROR) << "first after last";
  EXPECT_EQ(engine.stats().errors, 7u);
  EXPECT_EQ(engine.stats().reads, 0u);
  expectGoodRequestStillServed();
}

TEST_F(BlkbackEngineTest, BadGrantsFailTheRequestAndAWriteLeavesTheDiskAlone) {
  fill(grants.grant(1), 1);
  EXPECT_EQ(status(rw(BLKIF_OP_WRITE, 0, {{1, 0, 7}, {404, 0, 7}})), BLKIF_RSP_ERROR) << "never granted";
  EXPECT_EQ(disk.log, "") << "no partial write: the first segment was not written either";
  EXPECT_EQ(disk.data[0], 0);
  grants.grant(2, /*readOnly=*/true);
  EXPECT_EQ(status(rw(BLKIF_OP_READ, 0, {{2, 0, 7}})), BLKIF_RSP_ERROR) << "a read into a read-only grant";
  expectGoodRequestStillServed();
}

TEST_F(BlkbackEngineTest, UnknownOperationsAreNotSupported) {
  blkif_request r{};
  r.id = 3;
  r.operation = BLKIF_OP_RESERVED_1;
  EXPECT_EQ(status(r), BLKIF_RSP_EOPNOTSUPP);
  r.operation = 200;
  EXPECT_EQ(status(r), BLKIF_RSP_EOPNOTSUPP);
  EXPECT_EQ(engine.stats().unsupported, 2u);
  expectGoodRequestStillServed();
}

TEST_F(BlkbackEngineTest, FlushAndBarrierOrderTheDisk) {
  blkif_request flush{};
  flush.operation = BLKIF_OP_FLUSH_DISKCACHE;
  flush.id = 1;
  EXPECT_EQ(status(flush), BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.log, "F") << "a flush without data";
  fill(grants.grant(1), 9);
  EXPECT_EQ(status(rw(BLKIF_OP_WRITE_BARRIER, 8, {{1, 0, 7}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.log, "FFW") << "a barrier flushes what came before, then writes durably";
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 8 * 512, grants.pages[1].bytes.data(), 4096));
  EXPECT_EQ(status(rw(BLKIF_OP_FLUSH_DISKCACHE, 16, {{1, 0, 7}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.log, "FFWFw") << "a flush with data is a preflush, then the write";
}

TEST_F(BlkbackEngineTest, ReadOnlyDiskRefusesWritesAndDiscards) {
  MemDisk ro(kDisk, /*readOnly=*/true);
  BlkbackEngine e(ro, grants);
  fill(grants.grant(1), 1);
  EXPECT_EQ(e.handle(rw(BLKIF_OP_WRITE, 0, {{1, 0, 7}})).status, BLKIF_RSP_ERROR);
  blkif_request_discard d{};
  d.operation = BLKIF_OP_DISCARD;
  d.nr_sectors = 8;
  blkif_request raw{};
  std::memcpy(&raw, &d, sizeof(d));
  EXPECT_EQ(e.handle(raw).status, BLKIF_RSP_ERROR);
  EXPECT_EQ(ro.log, "");
  EXPECT_EQ(e.handle(rw(BLKIF_OP_READ, 0, {{1, 0, 7}})).status, BLKIF_RSP_OKAY) << "reads are fine";
}

TEST_F(BlkbackEngineTest, DiscardZeroesItsRangeAndChecksIt) {
  std::memset(disk.data.data(), 0xFF, disk.data.size());
  auto discard = [&](uint64_t sector, uint64_t n, uint8_t flag) {
    blkif_request_discard d{};
    d.operation = BLKIF_OP_DISCARD;
    d.id = 5;
    d.flag = flag;
    d.sector_number = sector;
    d.nr_sectors = n;
    blkif_request raw{};
    std::memcpy(&raw, &d, sizeof(d));
    return status(raw);
  };
  EXPECT_EQ(discard(4, 4, 0), BLKIF_RSP_OKAY);
  EXPECT_EQ(disk.data[4 * 512], 0);
  EXPECT_EQ(disk.data[8 * 512], 0xFF);
  EXPECT_EQ(discard(1000, 100, 0), BLKIF_RSP_ERROR) << "past the end";
  EXPECT_EQ(discard(0, 1, BLKIF_DISCARD_SECURE), BLKIF_RSP_EOPNOTSUPP) << "secure discard is not offered";
  MemDisk noDiscard(kDisk, false, /*discard=*/false);
  BlkbackEngine e(noDiscard, grants);
  blkif_request_discard d{};
  d.operation = BLKIF_OP_DISCARD;
  d.nr_sectors = 1;
  blkif_request raw{};
  std::memcpy(&raw, &d, sizeof(d));
  EXPECT_EQ(e.handle(raw).status, BLKIF_RSP_EOPNOTSUPP);
}

blkif_request indirect(uint8_t op, uint16_t nseg, std::initializer_list<grant_ref_t> pages, uint64_t sector = 0) {
  blkif_request_indirect r{};
  r.operation = BLKIF_OP_INDIRECT;
  r.indirect_op = op;
  r.nr_segments = nseg;
  r.id = 11;
  r.sector_number = sector;
  size_t i = 0;
  for (grant_ref_t g : pages) r.indirect_grefs[i++] = g;
  blkif_request raw{};
  std::memcpy(&raw, &r, sizeof(r));
  return raw;
}

TEST_F(BlkbackEngineTest, IndirectRequestsCarryManySegments) {
  // 40 data pages described by one indirect page.
  auto& desc = grants.grant(500, /*readOnly=*/true);
  std::vector<blkif_request_segment> segs(40);
  for (unsigned i = 0; i < 40; ++i) {
    segs[i] = {static_cast<grant_ref_t>(100 + i), 0, 7};
    fill(grants.grant(100 + i), static_cast<uint8_t>(i));
  }
  std::memcpy(desc.bytes.data(), segs.data(), segs.size() * sizeof(segs[0]));
  ASSERT_EQ(status(indirect(BLKIF_OP_WRITE, 40, {500}, 64)), BLKIF_RSP_OKAY);
  for (unsigned i = 0; i < 40; ++i)
    ASSERT_EQ(0, std::memcmp(disk.data.data() + (64 + 8 * i) * 512, grants.pages[100 + i].bytes.data(), 4096)) << i;
  // Read it back into fresh pages.
  for (unsigned i = 0; i < 40; ++i) {
    segs[i].gref = 200 + i;
    grants.grant(200 + i);
  }
  std::memcpy(desc.bytes.data(), segs.data(), segs.size() * sizeof(segs[0]));
  ASSERT_EQ(status(indirect(BLKIF_OP_READ, 40, {500}, 64)), BLKIF_RSP_OKAY);
  for (unsigned i = 0; i < 40; ++i) ASSERT_EQ(grants.pages[200 + i].bytes, grants.pages[100 + i].bytes) << i;
}

TEST_F(BlkbackEngineTest, HostileIndirectRequestsAnswerError) {
  grants.grant(500);
  EXPECT_EQ(status(indirect(BLKIF_OP_READ, 257, {500})), BLKIF_RSP_ERROR) << "more than advertised";
  EXPECT_EQ(status(indirect(BLKIF_OP_READ, 0, {500})), BLKIF_RSP_ERROR) << "no segments";
  EXPECT_EQ(status(indirect(BLKIF_OP_DISCARD, 1, {500})), BLKIF_RSP_ERROR) << "only read or write";
  EXPECT_EQ(status(indirect(BLKIF_OP_READ, 1, {404})), BLKIF_RSP_ERROR) << "descriptor page not granted";
  // A descriptor page naming a bad segment.
  blkif_request_segment bad{1, 3, 9};
  std::memcpy(grants.pages[500].bytes.data(), &bad, sizeof(bad));
  EXPECT_EQ(status(indirect(BLKIF_OP_READ, 1, {500})), BLKIF_RSP_ERROR) << "last_sect 9";
  BlkbackEngine noIndirect(disk, grants, BlkbackLimits{0});
  EXPECT_EQ(noIndirect.handle(indirect(BLKIF_OP_READ, 1, {500})).status, BLKIF_RSP_EOPNOTSUPP);
  expectGoodRequestStillServed();
}

}  // namespace
}  // namespace smartvm::dom0::blkback
