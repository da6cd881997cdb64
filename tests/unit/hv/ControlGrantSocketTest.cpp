// Dom0 grant operations over the real control socket with the dom0 client
// library (GrantClient): mappings through passed descriptors, batched copies
// split within smartvm-hv's limits, mappings dropped with the connection, and
// the block backend's GrantCopyIo driving BlkbackEngine against guest pages.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <cstddef>
#include <cstring>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xen/grant_table.h>

#include <atomic>
#include <thread>
#include <vector>

#include "BlkbackFakes.h"
#include "HvTestUtil.h"
#include "smartvm/dom0/blkback/BlkbackEngine.h"
#include "smartvm/dom0/blkback/GrantCopyIo.h"
#include "smartvm/dom0/grant/GrantClient.h"
#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

using dom0::GrantClient;
using test::waitUntil;

constexpr uint32_t kData = 0x800;  // granted RAM frames start here (gfn)
constexpr size_t kPage = 4096;

class ControlGrantSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(mkdtemp(dir_), nullptr);
    path_ = std::string(dir_) + "/hv.sock";
    ASSERT_TRUE(server_.start(path_).isOk());
    auto g = hv_.createDomain(test::makeConfig("guest", kernel_.path(), 32));
    ASSERT_TRUE(g.isOk()) << g.status().toString();
    guest_ = g->domid();
  }
  void TearDown() override {
    server_.stop();
    rmdir(dir_);
  }

  GrantClient client() {
    auto c = GrantClient::connect(path_);
    EXPECT_TRUE(c.isOk()) << c.status().toString();
    return std::move(*c);
  }
  GrantTable& gt() { return *hv_.find(guest_)->grantTable(); }
  uint8_t* gfnPtr(uint64_t gfn) { return hv_.find(guest_)->ram().hostPtr(gfn * kPage, kPage); }
  void grant(grant_ref_t ref, uint16_t flags, uint32_t frame, domid_t domid = 0) {
    grant_entry_v1_t* e = gt().entry(ref);
    ASSERT_NE(e, nullptr);
    e->domid = domid;
    e->frame = frame;
    std::atomic_ref<uint16_t>(e->flags).store(flags);
  }
  uint16_t flags(grant_ref_t ref) { return std::atomic_ref<uint16_t>(gt().entry(ref)->flags).load(); }

  char dir_[32] = "/tmp/smartvm-grant-XXXXXX";
  std::string path_;
  test::TempFile kernel_{test::tinyPvhKernel()};
  test::FakePlatform platform_;
  Hypervisor hv_{platform_, HypervisorOptions{}};
  ControlServer server_{hv_, "fake kvm", nullptr};
  uint32_t guest_ = 0;
};

TEST_F(ControlGrantSocketTest, MapSharesThePageAndUnmapReleasesIt) {
  std::memset(gfnPtr(kData), 0x61, kPage);
  grant(3, GTF_permit_access, kData);
  GrantClient c = client();
  auto m = c.map(guest_, 3, false);
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(m->domid, guest_);
  auto* page = static_cast<uint8_t*>(m->page);
  EXPECT_EQ(page[0], 0x61);
  EXPECT_EQ(page[4095], 0x61);
  page[9] = 0x7e;
  EXPECT_EQ(gfnPtr(kData)[9], 0x7e);
  EXPECT_EQ(flags(3), GTF_permit_access | GTF_reading | GTF_writing);
  ASSERT_TRUE(c.unmap(*m).isOk());
  EXPECT_EQ(flags(3), GTF_permit_access);
  EXPECT_EQ(hv_.grantOps().mappingCount(), 0u);
  Status again = c.unmap(GrantClient::Mapping{nullptr, m->handle, guest_});
  EXPECT_EQ(again.code(), EINVAL);
  EXPECT_NE(again.message().find("GNTST_bad_handle"), std::string::npos) << again.message();
}

TEST_F(ControlGrantSocketTest, RefusedMapsNameTheirGntstCode) {
  grant(4, GTF_permit_access | GTF_readonly, kData);
  GrantClient c = client();
  auto never = c.map(guest_, 9, true);
  EXPECT_EQ(never.status().code(), EIO);
  EXPECT_NE(never.status().message().find("GNTST_general_error"), std::string::npos) << never.status().message();
  auto rw = c.map(guest_, 4, false);
  EXPECT_NE(rw.status().message().find("GNTST_general_error"), std::string::npos);
  auto range = c.map(guest_, 1u << 24, true);
  EXPECT_NE(range.status().message().find("GNTST_bad_gntref"), std::string::npos) << range.status().message();
  auto nodom = c.map(guest_ + 50, 4, true);
  EXPECT_EQ(nodom.status().code(), ESRCH);
  EXPECT_NE(nodom.status().message().find("GNTST_bad_domain"), std::string::npos);
  auto ro = c.map(guest_, 4, true);
  ASSERT_TRUE(ro.isOk()) << ro.status().toString();
  EXPECT_EQ(static_cast<uint8_t*>(ro->page)[0], gfnPtr(kData)[0]);
  EXPECT_TRUE(c.unmap(*ro).isOk());
  EXPECT_EQ(hv_.grantOps().mappingCount(), 0u);
}

TEST_F(ControlGrantSocketTest, DisconnectDropsTheConnectionsMappings) {
  grant(3, GTF_permit_access, kData);
  grant(4, GTF_permit_access, kData + 1);
  gfnPtr(kData + 1)[0] = 0x44;
  GrantClient keeper = client();
  auto kept = keeper.map(guest_, 3, true);
  ASSERT_TRUE(kept.isOk());
  void* stillMapped = nullptr;
  {
    GrantClient c = client();
    ASSERT_TRUE(c.map(guest_, 3, false).isOk());
    auto m = c.map(guest_, 4, false);
    ASSERT_TRUE(m.isOk());
    stillMapped = m->page;
    EXPECT_EQ(hv_.grantOps().mappingCount(), 3u);
    EXPECT_EQ(keeper.unmap(GrantClient::Mapping{nullptr, m->handle, guest_}).code(), EINVAL)
        << "another connection's handle";
  }  // the client goes without unmapping
  EXPECT_TRUE(waitUntil([&] { return hv_.grantOps().mappingCount() == 1; }));
  EXPECT_TRUE(waitUntil([&] { return flags(4) == GTF_permit_access; }));
  EXPECT_EQ(flags(3), GTF_permit_access | GTF_reading);
  EXPECT_EQ(static_cast<uint8_t*>(stillMapped)[0], 0x44) << "as with gntdev, the process's mmap outlives the grant";
  ::munmap(stillMapped, kPage);
  keeper.disconnect();
  EXPECT_FALSE(keeper.connected());
  EXPECT_EQ(keeper.map(guest_, 3, true).status().code(), ENOTCONN);
  EXPECT_TRUE(waitUntil([&] { return hv_.grantOps().mappingCount() == 0; }));
  ::munmap(kept->page, kPage);
}

TEST_F(ControlGrantSocketTest, BigCopyBatchesAreSplitAndReportPerSegment) {
  // 300 full pages each way is past both per-request limits: the client splits.
  constexpr size_t kSegs = 300;
  for (uint32_t i = 0; i < 8; ++i) grant(10 + i, GTF_permit_access, kData + i);
  std::vector<std::vector<uint8_t>> out(kSegs, std::vector<uint8_t>(kPage, 0xee));
  std::vector<GrantClient::CopySeg> segs;
  for (size_t i = 0; i < kSegs; ++i) {
    const auto ref = static_cast<grant_ref_t>(10 + i % 8);
    std::memset(out[i].data(), static_cast<int>(i), kPage);
    segs.push_back({ref, 0, static_cast<uint32_t>(kPage), true, out[i].data()});
  }
  segs[123].ref = 99;  // never granted: only that segment fails
  GrantClient c = client();
  auto st = c.copy(guest_, segs);
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  ASSERT_EQ(st->size(), kSegs);
  for (size_t i = 0; i < kSegs; ++i) EXPECT_EQ((*st)[i], i == 123 ? GNTST_general_error : GNTST_okay) << i;
  // Frame kData + k holds the last segment written to ref 10 + k.
  for (uint32_t k = 0; k < 8; ++k) {
    size_t last = kSegs - 1;
    while (last % 8 != k) --last;
    EXPECT_EQ(gfnPtr(kData + k)[100], static_cast<uint8_t>(last)) << k;
  }
  // And back: small reads at odd offsets.
  std::vector<uint8_t> back(kSegs * 3, 0);
  std::vector<GrantClient::CopySeg> reads;
  for (size_t i = 0; i < kSegs; ++i) {
    reads.push_back({static_cast<grant_ref_t>(10 + i % 8), static_cast<uint32_t>(4093), 3, false, &back[i * 3]});
  }
  auto rs = c.copy(guest_, reads);
  ASSERT_TRUE(rs.isOk()) << rs.status().toString();
  for (size_t i = 0; i < kSegs; ++i) EXPECT_EQ(back[i * 3 + 2], gfnPtr(kData + i % 8)[4095]) << i;
  // Segments that cross the page never leave the process.
  std::vector<GrantClient::CopySeg> bad{{10, 4000, 100, false, back.data()}};
  EXPECT_EQ(c.copy(guest_, bad).status().code(), EINVAL);
}

TEST_F(ControlGrantSocketTest, OneClientServesThreadsConcurrently) {
  grant(3, GTF_permit_access, kData);
  GrantClient c = client();
  std::atomic<int> failures{0};
  auto worker = [&](uint8_t tag) {
    for (int i = 0; i < 100; ++i) {
      uint8_t buf[16];
      std::memset(buf, tag, sizeof buf);
      GrantClient::CopySeg w{3, static_cast<uint32_t>(tag * 16), 16, true, buf};
      auto st = c.copy(guest_, {&w, 1});
      if (!st.isOk() || (*st)[0] != GNTST_okay) failures.fetch_add(1);
      uint8_t got[16] = {};
      GrantClient::CopySeg r{3, static_cast<uint32_t>(tag * 16), 16, false, got};
      st = c.copy(guest_, {&r, 1});
      if (!st.isOk() || (*st)[0] != GNTST_okay || std::memcmp(got, buf, 16) != 0) failures.fetch_add(1);
    }
  };
  std::thread a(worker, 1), b(worker, 2);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
}

blkif_request rw(uint8_t op, uint64_t sector, std::initializer_list<blkif_request_segment> segs) {
  blkif_request r{};
  r.operation = op;
  r.id = 5;
  r.sector_number = sector;
  r.nr_segments = static_cast<uint8_t>(segs.size());
  size_t i = 0;
  for (const auto& s : segs) r.seg[i++] = s;
  return r;
}

TEST_F(ControlGrantSocketTest, BlkbackEngineMovesDataThroughGrantCopyIo) {
  using dom0::blkback::BlkbackEngine;
  using dom0::blkback::GrantCopyIo;
  for (size_t i = 0; i < kPage; ++i) {
    gfnPtr(kData)[i] = static_cast<uint8_t>(i * 3);
    gfnPtr(kData + 1)[i] = static_cast<uint8_t>(i * 5 + 1);
  }
  grant(20, GTF_permit_access | GTF_readonly, kData);  // write data: read-only grants suffice
  grant(21, GTF_permit_access | GTF_readonly, kData + 1);
  grant(22, GTF_permit_access, kData + 2);  // read buffers
  grant(23, GTF_permit_access, kData + 3);
  GrantClient c = client();
  GrantCopyIo io(c, guest_);
  dom0::blkback::test::MemDisk disk(1 << 20);
  BlkbackEngine engine(disk, io);

  // Sectors 8..: all of page 20, then sectors 2..5 of page 21.
  ASSERT_EQ(engine.handle(rw(BLKIF_OP_WRITE, 8, {{20, 0, 7}, {21, 2, 5}})).status, BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 8 * 512, gfnPtr(kData), kPage));
  EXPECT_EQ(0, std::memcmp(disk.data.data() + 16 * 512, gfnPtr(kData + 1) + 2 * 512, 4 * 512));
  // Read it back into the other two pages.
  ASSERT_EQ(engine.handle(rw(BLKIF_OP_READ, 8, {{22, 0, 7}, {23, 1, 4}})).status, BLKIF_RSP_OKAY);
  EXPECT_EQ(0, std::memcmp(gfnPtr(kData + 2), gfnPtr(kData), kPage));
  EXPECT_EQ(0, std::memcmp(gfnPtr(kData + 3) + 512, gfnPtr(kData + 1) + 2 * 512, 4 * 512));
  EXPECT_EQ(gfnPtr(kData + 3)[0], 0) << "sector 0 of that page was not asked for";
  EXPECT_EQ(engine.stats().reads, 1u);
  EXPECT_EQ(engine.stats().writes, 1u);

  // A read into a read-only grant and a write from a never-granted ref fail
  // the request; the disk is untouched by the latter.
  EXPECT_EQ(engine.handle(rw(BLKIF_OP_READ, 8, {{20, 0, 7}})).status, BLKIF_RSP_ERROR);
  const std::vector<uint8_t> before = disk.data;
  EXPECT_EQ(engine.handle(rw(BLKIF_OP_WRITE, 100, {{20, 0, 7}, {404, 0, 7}})).status, BLKIF_RSP_ERROR);
  EXPECT_EQ(disk.data, before);
  Status s = io.copyToGuest(20, 0, gfnPtr(kData + 2), 8);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("GNTST_general_error on grant ref 20"), std::string::npos) << s.message();
  Status far = GrantCopyIo(c, guest_ + 9).copyFromGuest(20, 0, gfnPtr(kData + 2), 8);
  EXPECT_EQ(far.code(), ESRCH);
  EXPECT_NE(far.message().find("GNTST_bad_domain"), std::string::npos) << far.message();
  EXPECT_EQ(gt().pins(20), 0u);
  EXPECT_EQ(flags(22), GTF_permit_access) << "copies leave no flags behind";
}

}  // namespace
}  // namespace smartvm::hv
