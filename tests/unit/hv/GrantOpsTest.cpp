// GrantOps: dom0's map, unmap and copy of a guest's grants, against a booted
// granter domain on FakePlatform. Entries are written the way a guest would,
// in its grant frame; every case checks the GNTST code and the entry flags.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <xen/grant_table.h>

#include <atomic>
#include <thread>
#include <cstring>
#include <vector>

#include "HvTestUtil.h"
#include "smartvm/hv/grant/GrantOps.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;

constexpr domid_t kGranter = 7;
constexpr domid_t kDom0 = 0;
constexpr uint32_t kData = 0x800;  // granted RAM frames start here (gfn)

class GrantOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(g.bootAndStart()); }

  GrantTable& gt() { return *g.domain().grantTable(); }
  /// The guest grants `frame` to `domid` with `flags` in entry `ref`.
  void grant(grant_ref_t ref, uint16_t flags, domid_t domid = kDom0, uint32_t frame = kData) {
    grant_entry_v1_t* e = gt().entry(ref);
    ASSERT_NE(e, nullptr);
    e->domid = domid;
    e->frame = frame;
    std::atomic_ref<uint16_t>(e->flags).store(flags);  // the guest writes flags last
  }
  uint16_t flags(grant_ref_t ref) { return std::atomic_ref<uint16_t>(gt().entry(ref)->flags).load(); }

  DomainHarness g{"granter", 64, 1, kGranter};
  GrantOps ops{[this](domid_t d) { return d == kGranter ? g.domain().grantTable() : nullptr; }};
};

TEST_F(GrantOpsTest, MapWritableSetsReadingAndWritingAndUnmapClearsThem) {
  grant(3, GTF_permit_access);
  std::memset(g.gpa(kData * 4096ull, 4096), 0xab, 4096);
  const auto m = ops.map(kDom0, kGranter, 3, false);
  ASSERT_EQ(m.status, GNTST_okay);
  EXPECT_EQ(m.gfn, kData);
  EXPECT_EQ(m.host, g.gpa(kData * 4096ull)) << "the granter's own RAM frame";
  EXPECT_EQ(m.host[100], 0xab);
  EXPECT_EQ(flags(3), GTF_permit_access | GTF_reading | GTF_writing);
  EXPECT_EQ(gt().pins(3), 1u);
  EXPECT_EQ(ops.unmap(kDom0, m.handle), GNTST_okay);
  EXPECT_EQ(flags(3), GTF_permit_access);
  EXPECT_EQ(gt().pins(3), 0u);
  EXPECT_EQ(ops.unmap(kDom0, m.handle), GNTST_bad_handle) << "a handle is good for one unmap";
  EXPECT_EQ(ops.mappingCount(), 0u);
}

TEST_F(GrantOpsTest, ReadOnlyEntryMapsReadOnlyButNotWritable) {
  grant(4, GTF_permit_access | GTF_readonly);
  EXPECT_EQ(ops.map(kDom0, kGranter, 4, false).status, GNTST_general_error);
  EXPECT_EQ(flags(4), GTF_permit_access | GTF_readonly) << "a refused map leaves no flag behind";
  const auto ro = ops.map(kDom0, kGranter, 4, true);
  ASSERT_EQ(ro.status, GNTST_okay);
  EXPECT_EQ(flags(4), GTF_permit_access | GTF_readonly | GTF_reading);
  EXPECT_EQ(ops.map(kDom0, kGranter, 4, false).status, GNTST_general_error) << "not even while pinned";
  EXPECT_EQ(flags(4), GTF_permit_access | GTF_readonly | GTF_reading);
  EXPECT_EQ(ops.unmap(kDom0, ro.handle), GNTST_okay);
  EXPECT_EQ(flags(4), GTF_permit_access | GTF_readonly);
}

TEST_F(GrantOpsTest, ReadOnlyMapOfWritableEntrySetsOnlyReading) {
  grant(5, GTF_permit_access);
  const auto ro = ops.map(kDom0, kGranter, 5, true);
  ASSERT_EQ(ro.status, GNTST_okay);
  EXPECT_EQ(flags(5), GTF_permit_access | GTF_reading);
  EXPECT_EQ(ops.unmap(kDom0, ro.handle), GNTST_okay);
  EXPECT_EQ(flags(5), GTF_permit_access);
}

TEST_F(GrantOpsTest, WritingClearsWithTheLastWriterAndReadingWithTheLastPin) {
  grant(6, GTF_permit_access);
  const auto r1 = ops.map(kDom0, kGranter, 6, true);
  const auto w1 = ops.map(kDom0, kGranter, 6, false);
  const auto w2 = ops.map(kDom0, kGranter, 6, false);
  ASSERT_EQ(r1.status | w1.status | w2.status, GNTST_okay);
  EXPECT_NE(w1.handle, w2.handle);
  EXPECT_EQ(gt().pins(6), 3u);
  EXPECT_EQ(ops.unmap(kDom0, w1.handle), GNTST_okay);
  EXPECT_EQ(flags(6), GTF_permit_access | GTF_reading | GTF_writing) << "one writer left";
  EXPECT_EQ(ops.unmap(kDom0, w2.handle), GNTST_okay);
  EXPECT_EQ(flags(6), GTF_permit_access | GTF_reading);
  EXPECT_EQ(ops.unmap(kDom0, r1.handle), GNTST_okay);
  EXPECT_EQ(flags(6), GTF_permit_access);
}

TEST_F(GrantOpsTest, EntryForAnotherDomainIsRefused) {
  grant(7, GTF_permit_access, 3);
  EXPECT_EQ(ops.map(kDom0, kGranter, 7, true).status, GNTST_general_error);
  EXPECT_EQ(flags(7), GTF_permit_access);
  EXPECT_EQ(gt().pins(7), 0u);
}

TEST_F(GrantOpsTest, RefsBeyondTheTableAreBadGntref) {
  EXPECT_EQ(ops.map(kDom0, kGranter, 512, true).status, GNTST_bad_gntref) << "one frame = refs 0..511";
  EXPECT_EQ(ops.map(kDom0, kGranter, 0xffffffffu, true).status, GNTST_bad_gntref);
  ASSERT_TRUE(gt().grow(2).isOk());
  grant(512, GTF_permit_access);
  EXPECT_EQ(ops.map(kDom0, kGranter, 512, true).status, GNTST_okay) << "valid once the table grew";
}

TEST_F(GrantOpsTest, NeverGrantedAndRevokedRefsAreRefused) {
  EXPECT_EQ(ops.map(kDom0, kGranter, 8, true).status, GNTST_general_error) << "GTF_invalid";
  EXPECT_EQ(flags(8), 0u);
  grant(9, GTF_permit_access);
  grant(9, 0);  // revoked while nobody used it
  EXPECT_EQ(ops.map(kDom0, kGranter, 9, false).status, GNTST_general_error);
  EXPECT_EQ(flags(9), 0u);
  grant(10, GTF_accept_transfer);
  EXPECT_EQ(ops.map(kDom0, kGranter, 10, true).status, GNTST_general_error) << "wrong grant type";
  grant(11, GTF_permit_access | GTF_sub_page);
  EXPECT_EQ(ops.map(kDom0, kGranter, 11, true).status, GNTST_general_error) << "sub-page grants are not mappable";
}

TEST_F(GrantOpsTest, UnknownGranterIsBadDomain) {
  EXPECT_EQ(ops.map(kDom0, 9, 0, true).status, GNTST_bad_domain);
  EXPECT_EQ(ops.map(kDom0, DOMID_SELF, 0, true).status, GNTST_bad_domain) << "dom0 has no table here";
}

TEST_F(GrantOpsTest, FrameOutsideGranterRamIsBadPageAndLeavesNoFlags) {
  grant(12, GTF_permit_access, kDom0, 0x100000);  // 4 GiB: beyond 64 MiB of RAM
  EXPECT_EQ(ops.map(kDom0, kGranter, 12, false).status, GNTST_bad_page);
  EXPECT_EQ(flags(12), GTF_permit_access);
  EXPECT_EQ(gt().pins(12), 0u);
  grant(13, GTF_permit_access, kDom0, 0xfeff0);  // the MMIO hole
  EXPECT_EQ(ops.map(kDom0, kGranter, 13, true).status, GNTST_bad_page);
  EXPECT_EQ(flags(13), GTF_permit_access);
}

TEST_F(GrantOpsTest, RevokingMidUseDoesNotTearTheMappingDown) {
  grant(14, GTF_permit_access);
  const auto m = ops.map(kDom0, kGranter, 14, false);
  ASSERT_EQ(m.status, GNTST_okay);
  // A well-behaved guest's gnttab_end_foreign_access: cmpxchg permit_access -> 0 fails while in use.
  std::atomic_ref<uint16_t> f(gt().entry(14)->flags);
  uint16_t expect = GTF_permit_access;
  EXPECT_FALSE(f.compare_exchange_strong(expect, 0));
  // A hostile one clears it anyway, and moves the frame.
  f.store(0);
  gt().entry(14)->frame = kData + 1;
  m.host[0] = 0x42;  // the mapping still works
  EXPECT_EQ(g.gpa(kData * 4096ull)[0], 0x42);
  EXPECT_EQ(gt().pins(14), 1u);
  EXPECT_EQ(ops.mappingCount(), 1u);
  // Xen checks type and domid only on the first pin: another map rides on it, at the latched frame.
  const auto again = ops.map(kDom0, kGranter, 14, false);
  ASSERT_EQ(again.status, GNTST_okay);
  EXPECT_EQ(again.gfn, kData);
  EXPECT_EQ(ops.map(3, kGranter, 14, true).status, GNTST_general_error) << "but not for another grantee";
  EXPECT_EQ(ops.unmap(kDom0, m.handle), GNTST_okay);
  EXPECT_EQ(ops.unmap(kDom0, again.handle), GNTST_okay);
  EXPECT_EQ(flags(14), 0u) << "in-use bits cleared with the last unmap";
  EXPECT_EQ(ops.map(kDom0, kGranter, 14, true).status, GNTST_general_error) << "revoked for new users";
}

TEST_F(GrantOpsTest, AGuestRewritingTheEntryMeanwhileCannotStallOrCorruptPins) {
  grant(16, GTF_permit_access);
  std::atomic<bool> stop{false};
  std::atomic_ref<uint16_t> f(gt().entry(16)->flags);
  // The "guest" flips GTF_readonly as fast as it can while dom0 maps and unmaps.
  std::thread guest([&] {
    while (!stop.load(std::memory_order_relaxed)) f.fetch_xor(GTF_readonly);
  });
  int okays = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto m = ops.map(kDom0, kGranter, 16, false);
    ASSERT_TRUE(m.status == GNTST_okay || m.status == GNTST_general_error) << m.status;
    if (m.status == GNTST_okay) {
      ++okays;
      EXPECT_EQ(ops.unmap(kDom0, m.handle), GNTST_okay);
    }
  }
  stop.store(true);
  guest.join();
  EXPECT_EQ(gt().pins(16), 0u);
  EXPECT_EQ(ops.mappingCount(), 0u);
  EXPECT_EQ(flags(16) & (GTF_reading | GTF_writing), 0) << "every pin released its bits";
  RecordProperty("successful_maps", okays);
}

TEST_F(GrantOpsTest, HostileHandles) {
  grant(15, GTF_permit_access);
  const auto m = ops.map(kDom0, kGranter, 15, true);
  ASSERT_EQ(m.status, GNTST_okay);
  EXPECT_EQ(ops.unmap(3, m.handle), GNTST_bad_handle) << "another grantee's handle";
  EXPECT_EQ(ops.unmap(kDom0, 0xffffffffu), GNTST_bad_handle);
  EXPECT_EQ(ops.unmap(kDom0, m.handle + 1), GNTST_bad_handle);
  EXPECT_EQ(flags(15), GTF_permit_access | GTF_reading) << "still mapped";
  EXPECT_EQ(ops.unmap(kDom0, m.handle), GNTST_okay);
}

// ---- copy ----

gnttab_copy_t copyOp(uint16_t flags, uint64_t src, domid_t srcDom, uint16_t srcOff, uint64_t dst, domid_t dstDom,
                     uint16_t dstOff, uint16_t len) {
  gnttab_copy_t op{};
  op.flags = flags;
  if (flags & GNTCOPY_source_gref) {
    op.source.u.ref = static_cast<grant_ref_t>(src);
  } else {
    op.source.u.gmfn = src;
  }
  if (flags & GNTCOPY_dest_gref) {
    op.dest.u.ref = static_cast<grant_ref_t>(dst);
  } else {
    op.dest.u.gmfn = dst;
  }
  op.source.domid = srcDom;
  op.source.offset = srcOff;
  op.dest.domid = dstDom;
  op.dest.offset = dstOff;
  op.len = len;
  op.status = 99;
  return op;
}

TEST_F(GrantOpsTest, CopyBatchReportsEachOpAndCopiesOnlyGoodOnes) {
  std::vector<uint8_t> local(2 * 4096, 0);  // dom0's own two "frames", gmfn 0 and 1
  GrantOps::LocalFrames frames = [&](xen_pfn_t gmfn) { return gmfn < 2 ? local.data() + gmfn * 4096 : nullptr; };
  uint8_t* src = g.gpa(kData * 4096ull, 4096);
  uint8_t* dst = g.gpa((kData + 1) * 4096ull, 4096);
  for (int i = 0; i < 4096; ++i) src[i] = static_cast<uint8_t>(i);
  std::memset(dst, 0, 4096);
  grant(1, GTF_permit_access | GTF_readonly, kDom0, kData);
  grant(2, GTF_permit_access, kDom0, kData + 1);
  grant(3, GTF_permit_access, 5, kData + 1);
  constexpr uint16_t S = GNTCOPY_source_gref, D = GNTCOPY_dest_gref;
  std::vector<gnttab_copy_t> batch = {
      copyOp(S, 1, kGranter, 16, 0, DOMID_SELF, 0, 32),           // 0: gref -> local
      copyOp(D, 1, DOMID_SELF, 0, 2, kGranter, 4064, 32),         // 1: local -> gref, ends at the page end
      copyOp(D, 0, DOMID_SELF, 0, 1, kGranter, 0, 8),             // 2: read-only entry as destination
      copyOp(S, 1, kGranter, 4000, 0, DOMID_SELF, 0, 200),        // 3: source crosses the page end
      copyOp(S, 1, kGranter, 0, 0, DOMID_SELF, 4095, 2),          // 4: destination crosses it
      copyOp(0, 0, kGranter, 0, 1, DOMID_SELF, 0, 8),             // 5: a raw frame of another domain
      copyOp(S, 1, 9, 0, 0, DOMID_SELF, 0, 8),                    // 6: no such domain
      copyOp(S, 512, kGranter, 0, 0, DOMID_SELF, 0, 8),           // 7: ref beyond the table
      copyOp(S, 1, kGranter, 0, 7, DOMID_SELF, 0, 8),             // 8: no such local frame
      copyOp(S, 3, kGranter, 0, 0, DOMID_SELF, 0, 8),             // 9: granted to someone else
      copyOp(S | D, 1, kGranter, 0, 2, kGranter, 0, 0),           // 10: gref -> gref, zero bytes
  };
  std::memset(local.data() + 4096, 0x77, 4096);
  EXPECT_EQ(ops.copy(kDom0, batch, frames), 3u);
  EXPECT_EQ(batch[0].status, GNTST_okay);
  EXPECT_EQ(batch[1].status, GNTST_okay);
  EXPECT_EQ(batch[2].status, GNTST_general_error);
  EXPECT_EQ(batch[3].status, GNTST_bad_copy_arg);
  EXPECT_EQ(batch[4].status, GNTST_bad_copy_arg);
  EXPECT_EQ(batch[5].status, GNTST_permission_denied);
  EXPECT_EQ(batch[6].status, GNTST_bad_domain);
  EXPECT_EQ(batch[7].status, GNTST_bad_gntref);
  EXPECT_EQ(batch[8].status, GNTST_bad_page);
  EXPECT_EQ(batch[9].status, GNTST_general_error);
  EXPECT_EQ(batch[10].status, GNTST_okay);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(local[i], static_cast<uint8_t>(16 + i)) << i;
  EXPECT_EQ(local[32], 0) << "no more than len bytes";
  for (int i = 0; i < 32; ++i) EXPECT_EQ(dst[4064 + i], 0x77) << i;
  EXPECT_EQ(dst[4063], 0);
  EXPECT_EQ(local[4095], 0) << "the refused op 4 wrote nothing";
  // Copies pin only while they run.
  EXPECT_EQ(flags(1), GTF_permit_access | GTF_readonly);
  EXPECT_EQ(flags(2), GTF_permit_access);
  EXPECT_EQ(flags(3), GTF_permit_access);
  EXPECT_EQ(gt().pins(1) + gt().pins(2) + gt().pins(3), 0u);
}

TEST_F(GrantOpsTest, CopyOnAMappedRefKeepsTheMappingsFlags) {
  grant(20, GTF_permit_access);
  const auto m = ops.map(kDom0, kGranter, 20, true);
  ASSERT_EQ(m.status, GNTST_okay);
  std::vector<uint8_t> local(4096, 0x33);
  std::vector<gnttab_copy_t> batch = {copyOp(GNTCOPY_dest_gref, 0, DOMID_SELF, 0, 20, kGranter, 0, 16)};
  EXPECT_EQ(ops.copy(kDom0, batch, [&](xen_pfn_t gmfn) { return gmfn == 0 ? local.data() : nullptr; }), 1u);
  EXPECT_EQ(m.host[0], 0x33);
  EXPECT_EQ(flags(20), GTF_permit_access | GTF_reading) << "writing went with the copy, reading stays";
  EXPECT_EQ(ops.unmap(kDom0, m.handle), GNTST_okay);
  EXPECT_EQ(flags(20), GTF_permit_access);
}

TEST_F(GrantOpsTest, CopyWithoutLocalFramesRefusesRawFrames) {
  std::vector<gnttab_copy_t> batch = {copyOp(0, 0, DOMID_SELF, 0, 0, DOMID_SELF, 0, 8)};
  EXPECT_EQ(ops.copy(kDom0, batch, nullptr), 0u);
  EXPECT_EQ(batch[0].status, GNTST_bad_page);
  EXPECT_EQ(ops.copy(kDom0, std::span<gnttab_copy_t>{}, nullptr), 0u) << "an empty batch";
}

}  // namespace
}  // namespace smartvm::hv
