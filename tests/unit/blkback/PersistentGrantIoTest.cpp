// Persistent grants (feature-persistent) in the engine: each data or indirect
// grant ref is mapped once and reused by later requests; the cache is bounded
// and, once full, further refs go through the copy path; a ref whose map fails
// is not cached (the copy path decides, a bad ref fails only its request);
// everything is unmapped on close. The mapper maps FakeGrants' own pages, so
// what the backend writes into a "mapping" is what the guest sees.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "BlkbackFakes.h"
#include "smartvm/dom0/blkback/BlkbackEngine.h"
#include "smartvm/dom0/blkback/PersistentGrantIo.h"

namespace smartvm::dom0::blkback {
namespace {

using test::FakeGrants;
using test::MemDisk;

constexpr uint64_t kDisk = 1024 * 512;

/// Maps FakeGrants pages in place; a read-only grant refuses a writable map, an unknown ref fails.
class FakeMapper final : public GrantMapper {
 public:
  explicit FakeMapper(FakeGrants& g) : grants(g) {}
  Result<GrantClient::Mapping> map(grant_ref_t ref, bool readonly) override {
    ++mapCalls;
    auto it = grants.pages.find(ref);
    if (it == grants.pages.end()) return error(EINVAL, "GNTST_bad_gntref");
    if (it->second.readOnly && !readonly) return error(EPERM, "GNTST_permission_denied");
    const uint32_t handle = nextHandle++;
    live.insert(handle);
    mappedRefs.push_back(ref);
    return GrantClient::Mapping{it->second.bytes.data(), handle, 3};
  }
  Status unmap(const GrantClient::Mapping& m) override {
    if (live.erase(m.handle) == 0) return error(EINVAL, "GNTST_bad_handle");
    ++unmaps;
    return Status::ok();
  }
  FakeGrants& grants;
  uint32_t nextHandle = 1;
  std::set<uint32_t> live;
  std::vector<grant_ref_t> mappedRefs;
  int mapCalls = 0, unmaps = 0;
};

/// The copy path, counting the segments it is asked to copy.
class CountingCopy final : public GrantIo {
 public:
  explicit CountingCopy(FakeGrants& g) : grants(g) {}
  Status copyFromGuest(grant_ref_t ref, uint32_t off, void* dst, size_t len) override {
    ++segs;
    return grants.copyFromGuest(ref, off, dst, len);
  }
  Status copyToGuest(grant_ref_t ref, uint32_t off, const void* src, size_t len) override {
    ++segs;
    return grants.copyToGuest(ref, off, src, len);
  }
  FakeGrants& grants;
  int segs = 0;
};

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
  for (size_t i = 0; i < p.bytes.size(); ++i) p.bytes[i] = static_cast<uint8_t>(i * 7 + seed);
}

class PersistentGrantIoTest : public ::testing::Test {
 protected:
  MemDisk disk{kDisk};
  FakeGrants grants;
  FakeMapper mapper{grants};
  CountingCopy copy{grants};

  int16_t run(BlkbackEngine& e, const blkif_request& r) { return e.handle(r).status; }
};

TEST_F(PersistentGrantIoTest, EachRefIsMappedOnceAndReused) {
  PersistentGrantIo io(mapper, copy);
  BlkbackEngine engine(disk, io);
  fill(grants.grant(1), 1);
  fill(grants.grant(2), 2);
  ASSERT_EQ(run(engine, rw(BLKIF_OP_WRITE, 8, {{1, 0, 7}, {2, 0, 7}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 8 * 512, grants.pages[1].bytes.data(), 4096));
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 16 * 512, grants.pages[2].bytes.data(), 4096));
  EXPECT_EQ(mapper.mapCalls, 2);
  EXPECT_EQ(io.cached(), 2u);

  // The guest reuses the same pages with new contents: still no new map, and
  // the backend sees the new bytes (a mapping, not a snapshot).
  fill(grants.pages[1], 0x40);
  ASSERT_EQ(run(engine, rw(BLKIF_OP_WRITE, 100, {{1, 0, 7}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 100 * 512, grants.pages[1].bytes.data(), 4096));

  // A read into those pages, sub-page: only sectors 2..4 of page 2 change.
  std::memset(grants.pages[2].bytes.data(), 0xEE, 4096);
  ASSERT_EQ(run(engine, rw(BLKIF_OP_READ, 8, {{2, 2, 4}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(grants.pages[2].bytes.data() + 2 * 512, disk.data.data() + 8 * 512, 3 * 512));
  EXPECT_EQ(grants.pages[2].bytes[2 * 512 - 1], 0xEE) << "nothing before first_sect";
  EXPECT_EQ(grants.pages[2].bytes[5 * 512], 0xEE) << "nothing after last_sect";

  EXPECT_EQ(mapper.mapCalls, 2) << "every later request reused the cached mappings";
  EXPECT_EQ(copy.segs, 0) << "nothing went through the copy path";
  EXPECT_EQ(io.stats().maps, 2u);
  EXPECT_EQ(io.stats().hits, 4u);
}

TEST_F(PersistentGrantIoTest, IndirectPagesAndTheirSegmentsAreCached) {
  PersistentGrantIo io(mapper, copy);
  BlkbackEngine engine(disk, io);
  auto& desc = grants.grant(500);
  std::vector<blkif_request_segment> segs(20);
  for (unsigned i = 0; i < 20; ++i) {
    segs[i] = {static_cast<grant_ref_t>(100 + i), 0, 7};
    fill(grants.grant(100 + i), static_cast<uint8_t>(i));
  }
  std::memcpy(desc.bytes.data(), segs.data(), segs.size() * sizeof(segs[0]));
  blkif_request_indirect r{};
  r.operation = BLKIF_OP_INDIRECT;
  r.indirect_op = BLKIF_OP_WRITE;
  r.nr_segments = 20;
  r.id = 3;
  r.sector_number = 0;
  r.indirect_grefs[0] = 500;
  blkif_request raw{};
  std::memcpy(&raw, &r, sizeof(r));
  for (int round = 0; round < 3; ++round) ASSERT_EQ(run(engine, raw), BLKIF_RSP_OKAY) << round;
  for (unsigned i = 0; i < 20; ++i)
    ASSERT_EQ(0, std::memcmp(disk.data.data() + 8 * i * 512, grants.pages[100 + i].bytes.data(), 4096)) << i;
  EXPECT_EQ(mapper.mapCalls, 21) << "20 data pages and the indirect page, once each over three requests";
  EXPECT_EQ(io.cached(), 21u);
  EXPECT_EQ(copy.segs, 0);
}

TEST_F(PersistentGrantIoTest, FullCacheFallsBackToCopiesForTheRest) {
  PersistentGrantIo io(mapper, copy, /*maxGrants=*/2);
  BlkbackEngine engine(disk, io);
  for (grant_ref_t g = 1; g <= 4; ++g) fill(grants.grant(g), static_cast<uint8_t>(g * 16));
  ASSERT_EQ(run(engine, rw(BLKIF_OP_WRITE, 0, {{1, 0, 7}, {2, 0, 7}, {3, 0, 7}, {4, 0, 7}})), BLKIF_RSP_OKAY);
  for (grant_ref_t g = 1; g <= 4; ++g)
    EXPECT_EQ(0, std::memcmp(disk.data.data() + (g - 1) * 4096, grants.pages[g].bytes.data(), 4096)) << g;
  EXPECT_EQ(io.cached(), 2u) << "bounded";
  EXPECT_EQ(mapper.mapCalls, 2) << "no map is tried once the cache is full";
  EXPECT_EQ(copy.segs, 2) << "refs 3 and 4 were copied";
  EXPECT_EQ(mapper.mappedRefs, (std::vector<grant_ref_t>{1, 2}));

  // Reading back into all four: the cached two by memcpy, the others copied.
  for (grant_ref_t g = 1; g <= 4; ++g) std::memset(grants.pages[g].bytes.data(), 0, 4096);
  ASSERT_EQ(run(engine, rw(BLKIF_OP_READ, 0, {{4, 0, 7}, {3, 0, 7}, {2, 0, 7}, {1, 0, 7}})), BLKIF_RSP_OKAY);
  for (grant_ref_t g = 1; g <= 4; ++g)
    EXPECT_EQ(0, std::memcmp(disk.data.data() + (4 - g) * 4096, grants.pages[g].bytes.data(), 4096)) << g;
  EXPECT_EQ(copy.segs, 4);
  EXPECT_EQ(io.stats().hits, 4u);
  EXPECT_EQ(io.stats().copied, 4u);
}

TEST_F(PersistentGrantIoTest, CloseUnmapsEverything) {
  {
    PersistentGrantIo io(mapper, copy);
    BlkbackEngine engine(disk, io);
    for (grant_ref_t g = 1; g <= 5; ++g) grants.grant(g);
    ASSERT_EQ(run(engine, rw(BLKIF_OP_READ, 0, {{1, 0, 7}, {2, 0, 7}, {3, 0, 7}, {4, 0, 7}, {5, 0, 7}})),
              BLKIF_RSP_OKAY);
    EXPECT_EQ(mapper.live.size(), 5u);
    io.unmapAll();
    EXPECT_TRUE(mapper.live.empty());
    EXPECT_EQ(io.cached(), 0u);
    EXPECT_EQ(mapper.unmaps, 5);
    // Usable again after a reconnect: maps afresh.
    ASSERT_EQ(run(engine, rw(BLKIF_OP_READ, 0, {{1, 0, 7}})), BLKIF_RSP_OKAY);
    EXPECT_EQ(mapper.mapCalls, 6);
    EXPECT_EQ(mapper.live.size(), 1u);
  }
  EXPECT_TRUE(mapper.live.empty()) << "destruction unmaps the rest";
  EXPECT_EQ(mapper.unmaps, 6);
}

TEST_F(PersistentGrantIoTest, BadRefFailsItsRequestOnlyAndIsNotCached) {
  PersistentGrantIo io(mapper, copy);
  BlkbackEngine engine(disk, io);
  fill(grants.grant(1), 9);
  // Ref 77 was never granted: the map fails, the copy path fails, the request gets ERROR.
  EXPECT_EQ(run(engine, rw(BLKIF_OP_WRITE, 0, {{1, 0, 7}, {77, 0, 7}})), BLKIF_RSP_ERROR);
  EXPECT_EQ(disk.log, "") << "a write with a bad segment never reaches the disk";
  EXPECT_EQ(run(engine, rw(BLKIF_OP_READ, 0, {{77, 0, 7}})), BLKIF_RSP_ERROR);
  EXPECT_EQ(io.cached(), 1u) << "only ref 1";
  EXPECT_EQ(io.stats().mapFailures, 2u) << "a failed ref is tried again, never cached";
  EXPECT_EQ(engine.stats().errors, 2u);
  // Segment bounds are still the engine's: last_sect past the page.
  EXPECT_EQ(run(engine, rw(BLKIF_OP_READ, 0, {{1, 0, 8}})), BLKIF_RSP_ERROR);
  // And a bad offset straight at the grant I/O never touches the page.
  char buf[16];
  EXPECT_FALSE(io.copyFromGuest(1, 4090, buf, sizeof(buf)).isOk());
  EXPECT_FALSE(io.copyToGuest(1, 4097, buf, 0).isOk());

  // The next good requests are served through the cached mapping.
  ASSERT_EQ(run(engine, rw(BLKIF_OP_WRITE, 40, {{1, 0, 7}}, 8)), BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 40 * 512, grants.pages[1].bytes.data(), 4096));
  EXPECT_EQ(mapper.mapCalls - static_cast<int>(io.stats().mapFailures), 1);
}

TEST_F(PersistentGrantIoTest, ReadOnlyGrantIsServedByCopiesAndRefusesReads) {
  PersistentGrantIo io(mapper, copy);
  BlkbackEngine engine(disk, io);
  fill(grants.grant(5, /*readOnly=*/true), 0x21);
  // A write request only reads the page: the writable map is refused, the copy path serves it.
  ASSERT_EQ(run(engine, rw(BLKIF_OP_WRITE, 0, {{5, 0, 7}})), BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(disk.data.data(), grants.pages[5].bytes.data(), 4096));
  EXPECT_EQ(io.cached(), 0u);
  EXPECT_EQ(copy.segs, 1);
  // A read would write into it: refused by the copy path's read-only check.
  const auto before = grants.pages[5].bytes;
  EXPECT_EQ(run(engine, rw(BLKIF_OP_READ, 8, {{5, 0, 7}})), BLKIF_RSP_ERROR);
  EXPECT_EQ(grants.pages[5].bytes, before);
}

}  // namespace
}  // namespace smartvm::dom0::blkback
