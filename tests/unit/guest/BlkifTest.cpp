// blkif requests as the guest's blkfront builds them, checked against what a
// backend reads (xen-blkback's segment rules), and the blk workload's pattern.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "lib/Blkif.h"
#include "lib/DiskPattern.h"

namespace {

TEST(Blkif, FullPagesThenAPartialOne) {
  blkif_request req{};
  const grant_ref_t refs[3] = {10, 11, 12};
  ASSERT_TRUE(blkif::buildReadWrite(req, BLKIF_OP_WRITE, 5, 1000, 19, refs, 3));
  EXPECT_EQ(req.operation, BLKIF_OP_WRITE);
  EXPECT_EQ(req.nr_segments, 3);
  EXPECT_EQ(req.id, 5u);
  EXPECT_EQ(req.sector_number, 1000u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(req.seg[i].gref, refs[i]);
    EXPECT_EQ(req.seg[i].first_sect, 0);
  }
  EXPECT_EQ(req.seg[0].last_sect, 7);
  EXPECT_EQ(req.seg[1].last_sect, 7);
  EXPECT_EQ(req.seg[2].last_sect, 2);  // 19 = 8 + 8 + 3
  EXPECT_EQ(blkif::sectorsOf(req), 19u);
}

TEST(Blkif, LargestRequestUsesEverySegment) {
  std::vector<grant_ref_t> refs(BLKIF_MAX_SEGMENTS_PER_REQUEST);
  for (size_t i = 0; i < refs.size(); ++i) refs[i] = static_cast<grant_ref_t>(100 + i);
  blkif_request req{};
  ASSERT_TRUE(blkif::buildReadWrite(req, BLKIF_OP_READ, 0, 0, blkif::kMaxSectors, refs.data(), refs.size()));
  EXPECT_EQ(req.nr_segments, BLKIF_MAX_SEGMENTS_PER_REQUEST);
  EXPECT_EQ(blkif::sectorsOf(req), blkif::kMaxSectors);
  EXPECT_EQ(blkif::kMaxSectors, 88u);
}

TEST(Blkif, RefusesWhatABackendWouldReject) {
  blkif_request req{};
  req.id = 77;
  const grant_ref_t refs[BLKIF_MAX_SEGMENTS_PER_REQUEST] = {};
  EXPECT_FALSE(blkif::buildReadWrite(req, BLKIF_OP_READ, 1, 0, 0, refs, 11));                         // nothing
  EXPECT_FALSE(blkif::buildReadWrite(req, BLKIF_OP_READ, 1, 0, blkif::kMaxSectors + 1, refs, 11));    // too big
  EXPECT_FALSE(blkif::buildReadWrite(req, BLKIF_OP_READ, 1, 0, 17, refs, 2));                          // too few refs
  EXPECT_FALSE(blkif::buildReadWrite(req, BLKIF_OP_FLUSH_DISKCACHE, 1, 0, 8, refs, 11));               // not rw
  EXPECT_EQ(req.id, 77u);  // untouched
}

TEST(Blkif, FlushHasNoSegments) {
  blkif_request req{};
  ASSERT_TRUE(blkif::buildFlush(req, BLKIF_OP_FLUSH_DISKCACHE, 3));
  EXPECT_EQ(req.operation, BLKIF_OP_FLUSH_DISKCACHE);
  EXPECT_EQ(req.nr_segments, 0);
  EXPECT_EQ(req.id, 3u);
  EXPECT_TRUE(blkif::buildFlush(req, BLKIF_OP_WRITE_BARRIER, 4));
  EXPECT_FALSE(blkif::buildFlush(req, BLKIF_OP_READ, 5));
  EXPECT_EQ(blkif::sectorsOf(req), 0u);
}

TEST(Blkif, SectorsOfRejectsBadSegments) {
  blkif_request req{};
  req.operation = BLKIF_OP_READ;
  req.nr_segments = 1;
  req.seg[0].first_sect = 5;
  req.seg[0].last_sect = 2;
  EXPECT_EQ(blkif::sectorsOf(req), 0u);
  req.seg[0].first_sect = 0;
  req.seg[0].last_sect = 8;  // past the page
  EXPECT_EQ(blkif::sectorsOf(req), 0u);
}

TEST(Blkif, Names) {
  EXPECT_STREQ(blkif::statusName(BLKIF_RSP_ERROR), "error");
  EXPECT_STREQ(blkif::statusName(BLKIF_RSP_OKAY), "okay");
  EXPECT_STREQ(blkif::statusName(BLKIF_RSP_EOPNOTSUPP), "eopnotsupp");
  EXPECT_STREQ(blkif::opName(BLKIF_OP_FLUSH_DISKCACHE), "flush");
}

TEST(DiskPattern, RoundTripsAndNamesItsSector) {
  uint8_t sector[512];
  diskpattern::fill(sector, 7, 12345);
  EXPECT_EQ(diskpattern::check(sector, 7, 12345), diskpattern::kWordsPerSector);
  uint64_t w0, w1;
  std::memcpy(&w0, sector, 8);
  std::memcpy(&w1, sector + 8, 8);
  EXPECT_EQ(w0, 12345u);  // readable in a hex dump
  EXPECT_EQ(w1, 7u);
  for (unsigned i = 0; i < diskpattern::kWordsPerSector; ++i) {
    uint64_t w;
    std::memcpy(&w, sector + 8 * i, 8);
    EXPECT_EQ(w, diskpattern::word(7, 12345, i));
  }
}

TEST(DiskPattern, WrongSectorSeedOrByteIsCaught) {
  uint8_t sector[512];
  diskpattern::fill(sector, 1, 100);
  EXPECT_EQ(diskpattern::check(sector, 1, 101), 0u);  // misplaced
  EXPECT_EQ(diskpattern::check(sector, 2, 100), 1u);  // another run's seed
  sector[300] ^= 1;
  EXPECT_EQ(diskpattern::check(sector, 1, 100), 300u / 8);
}

TEST(DiskPattern, SectorsDiffer) {
  std::set<uint64_t> words;
  for (uint64_t s = 0; s < 64; ++s) words.insert(diskpattern::word(1, s, 10));
  EXPECT_EQ(words.size(), 64u);
}

}  // namespace
