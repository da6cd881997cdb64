// The control protocol's grant operations (dom0 as the grantee) through
// ControlServer::handle: a mapping's fd+offset shares the guest's page, hostile
// refs/domids/handles/copies get Xen's GNTST codes or EINVAL, mappings belong
// to their connection, and a granter destroyed under a live mapping is safe.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <cstddef>
#include <cstring>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <xen/grant_table.h>
#include <xen/xen.h>

#include <atomic>
#include <thread>
#include <vector>

#include "HvTestUtil.h"
#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

namespace pb = smartvm::control::v1;

constexpr uint32_t kData = 0x800;  // granted RAM frames start here (gfn)
constexpr size_t kPage = 4096;

/// A 4 KiB MAP_SHARED mapping of a grant's fd, unmapped at scope end.
class PageMap {
 public:
  PageMap(int fd, uint64_t offset, int prot) {
    p_ = ::mmap(nullptr, kPage, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
    if (p_ == MAP_FAILED) {
      err_ = errno;
      p_ = nullptr;
    }
  }
  ~PageMap() {
    if (p_ != nullptr) ::munmap(p_, kPage);
  }
  PageMap(const PageMap&) = delete;
  PageMap& operator=(const PageMap&) = delete;
  uint8_t* bytes() const { return static_cast<uint8_t*>(p_); }
  int err() const { return err_; }

 private:
  void* p_ = nullptr;
  int err_ = 0;
};

class ControlGrantTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = hv.createDomain(test::makeConfig("granter", kernel.path(), 32));
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    guest = r->domid();
  }

  GrantTable& gt() { return *hv.find(guest)->grantTable(); }
  GuestRam& ram() { return hv.find(guest)->ram(); }
  uint8_t* gfnPtr(uint64_t gfn) { return ram().hostPtr(gfn * kPage, kPage); }
  /// The guest grants `frame` to `domid` with `flags` in entry `ref`.
  void grant(grant_ref_t ref, uint16_t flags, uint32_t frame = kData, domid_t domid = 0) {
    grant_entry_v1_t* e = gt().entry(ref);
    ASSERT_NE(e, nullptr);
    e->domid = domid;
    e->frame = frame;
    std::atomic_ref<uint16_t>(e->flags).store(flags);  // the guest writes flags last
  }
  uint16_t flags(grant_ref_t ref) { return std::atomic_ref<uint16_t>(gt().entry(ref)->flags).load(); }

  pb::Response call(pb::Request req, Dom0PortOwner& owner) {
    req.set_id(++id_);
    fds.clear();
    pb::Response r = server.handle(req, owner, fds);
    EXPECT_EQ(r.id(), id_);
    EXPECT_EQ(r.fd_count(), fds.size());
    return r;
  }
  pb::Response call(pb::Request req) { return call(std::move(req), conn); }

  static pb::Request map(uint32_t domid, uint32_t ref, bool readonly) {
    pb::Request r;
    r.mutable_grant_map()->set_domid(domid);
    r.mutable_grant_map()->set_ref(ref);
    r.mutable_grant_map()->set_readonly(readonly);
    return r;
  }
  static pb::Request unmap(uint32_t handle) {
    pb::Request r;
    r.mutable_grant_unmap()->set_handle(handle);
    return r;
  }
  static pb::GrantCopySeg seg(uint32_t ref, uint32_t offset, uint32_t len, bool toGuest, std::string data = {}) {
    pb::GrantCopySeg s;
    s.set_ref(ref);
    s.set_offset(offset);
    s.set_len(len);
    s.set_to_guest(toGuest);
    s.set_data(std::move(data));
    return s;
  }
  static pb::Request copy(uint32_t domid, std::vector<pb::GrantCopySeg> segs) {
    pb::Request r;
    r.mutable_grant_copy()->set_domid(domid);
    for (auto& s : segs) *r.mutable_grant_copy()->add_segs() = std::move(s);
    return r;
  }
  /// Maps and expects success: the answer, with its fd in `fds[0]`.
  pb::GrantMapped mapOk(uint32_t ref, bool readonly, Dom0PortOwner& owner) {
    pb::Response r = call(map(guest, ref, readonly), owner);
    EXPECT_EQ(r.error_code(), 0) << r.error();
    EXPECT_EQ(r.grant_mapped().status(), GNTST_okay);
    EXPECT_EQ(r.fd_count(), 1u);
    return r.grant_mapped();
  }
  int16_t mapStatus(uint32_t domid, uint32_t ref, bool readonly) {
    pb::Response r = call(map(domid, ref, readonly));
    EXPECT_EQ(r.error_code(), 0) << r.error();
    EXPECT_TRUE(r.has_grant_mapped());
    if (r.grant_mapped().status() != GNTST_okay) {
      EXPECT_EQ(r.fd_count(), 0u) << "a refused map hands out no descriptor";
    }
    return static_cast<int16_t>(r.grant_mapped().status());
  }
  int16_t unmapStatus(uint32_t handle, Dom0PortOwner& owner) {
    pb::Response r = call(unmap(handle), owner);
    EXPECT_EQ(r.error_code(), 0) << r.error();
    EXPECT_EQ(r.grant_copied().status_size(), 1);
    return r.grant_copied().status_size() == 1 ? static_cast<int16_t>(r.grant_copied().status(0)) : 1;
  }
  void expectEinval(const pb::Response& r, const std::string& fragment) {
    EXPECT_EQ(r.error_code(), EINVAL) << r.error();
    EXPECT_NE(r.error().find(fragment), std::string::npos) << r.error();
    EXPECT_FALSE(r.has_grant_copied());
  }

  test::TempFile kernel{test::tinyPvhKernel()};
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
  ControlServer server{hv, "fake kvm", nullptr};
  Dom0PortOwner conn{hv.dom0EventChannels()};
  std::vector<UniqueFd> fds;
  uint32_t guest = 0;
  uint64_t id_ = 0;
};

TEST_F(ControlGrantTest, MapHandsOutFdAndOffsetSharingTheGuestPage) {
  std::memset(gfnPtr(kData + 1), 0x5a, kPage);
  grant(3, GTF_permit_access, kData + 1);
  const pb::GrantMapped m = mapOk(3, false, conn);
  EXPECT_EQ(m.offset(), (kData + 1) * kPage) << "low RAM sits at its gpa in the memfd";
  EXPECT_EQ(flags(3), GTF_permit_access | GTF_reading | GTF_writing);
  EXPECT_EQ(hv.grantOps().mappingCount(), 1u);
  EXPECT_EQ(conn.grants().count(), 1u);
  {
    PageMap page(fds[0].get(), m.offset(), PROT_READ | PROT_WRITE);
    ASSERT_NE(page.bytes(), nullptr) << std::strerror(page.err());
    EXPECT_EQ(page.bytes()[0], 0x5a);
    EXPECT_EQ(page.bytes()[4095], 0x5a);
    page.bytes()[17] = 0xc3;
    EXPECT_EQ(gfnPtr(kData + 1)[17], 0xc3) << "dom0's writes reach the guest's page";
    gfnPtr(kData + 1)[18] = 0x3c;
    EXPECT_EQ(page.bytes()[18], 0x3c) << "and the guest's reach dom0";
    EXPECT_EQ(gfnPtr(kData + 2)[0], 0) << "only the one page";
  }
  EXPECT_EQ(unmapStatus(m.handle(), conn), GNTST_okay);
  EXPECT_EQ(flags(3), GTF_permit_access);
  EXPECT_EQ(hv.grantOps().mappingCount(), 0u);
  EXPECT_EQ(conn.grants().count(), 0u);
  EXPECT_EQ(unmapStatus(m.handle(), conn), GNTST_bad_handle) << "a handle unmaps once";
}

TEST_F(ControlGrantTest, ReadOnlyMapGivesAReadOnlyDescriptor) {
  gfnPtr(kData)[0] = 0x77;
  grant(4, GTF_permit_access | GTF_readonly);
  const pb::GrantMapped m = mapOk(4, true, conn);
  EXPECT_EQ(flags(4), GTF_permit_access | GTF_readonly | GTF_reading);
  PageMap rw(fds[0].get(), m.offset(), PROT_READ | PROT_WRITE);
  EXPECT_EQ(rw.bytes(), nullptr) << "a read-only grant cannot be mapped writable through its fd";
  EXPECT_EQ(rw.err(), EACCES);
  EXPECT_LT(::ftruncate(fds[0].get(), 0), 0) << "nor truncated";
  PageMap ro(fds[0].get(), m.offset(), PROT_READ);
  ASSERT_NE(ro.bytes(), nullptr) << std::strerror(ro.err());
  EXPECT_EQ(ro.bytes()[0], 0x77);
}

TEST_F(ControlGrantTest, WritableDescriptorCannotResizeGuestMemory) {
  grant(5, GTF_permit_access);
  mapOk(5, false, conn);
  EXPECT_LT(::ftruncate(fds[0].get(), 4096), 0) << "the memfd's size is sealed";
  EXPECT_EQ(errno, EPERM);
}

TEST_F(ControlGrantTest, SpecialPageOutsideRamCanBeGrantedAndMapped) {
  // Console and xenstore rings are special pages placed outside RAM (grant
  // refs 0 and 1 name them); index 15, away from their gfns, stands in here.
  constexpr uint32_t kIndex = 15;
  constexpr uint64_t kGpa = 0xfe000000;
  const Status placed = ram().mapSpecialPage(kIndex, kGpa);
  ASSERT_TRUE(placed.isOk()) << placed.toString();
  std::memset(ram().specialPage(kIndex), 0x42, kPage);
  grant(1, GTF_permit_access, kGpa / kPage);
  const pb::GrantMapped m = mapOk(1, false, conn);
  EXPECT_EQ(m.offset(), 32 * test::kMiB + kIndex * kPage) << "special pages follow RAM in the memfd";
  PageMap page(fds[0].get(), m.offset(), PROT_READ | PROT_WRITE);
  ASSERT_NE(page.bytes(), nullptr);
  EXPECT_EQ(page.bytes()[100], 0x42);
  page.bytes()[0] = 0x99;
  EXPECT_EQ(ram().specialPage(kIndex)[0], 0x99);

  // A copy reaches it too.
  pb::Response r = call(copy(guest, {seg(1, 0, 2, false)}));
  ASSERT_EQ(r.grant_copied().status(0), GNTST_okay);
  EXPECT_EQ(r.grant_copied().data(0), std::string("\x99\x42", 2));
  // Once unplaced, a new grant of that gfn names nothing.
  EXPECT_EQ(unmapStatus(m.handle(), conn), GNTST_okay);
  ASSERT_TRUE(ram().mapSpecialPage(kIndex, 0).isOk());
  EXPECT_EQ(mapStatus(guest, 1, false), GNTST_bad_page);
}

TEST_F(ControlGrantTest, TheXenstoreRingPageMapsThroughItsGrant) {
  if (ram().specialPageGpa(GuestRam::kStorePage) == 0) GTEST_SKIP() << "this build places no xenstore page";
  const uint64_t gfn = ram().specialPageGpa(GuestRam::kStorePage) / kPage;
  EXPECT_EQ(gfn, GuestRam::kStoreGfn);
  grant(GNTTAB_RESERVED_XENSTORE, GTF_permit_access, static_cast<uint32_t>(gfn));
  const pb::GrantMapped m = mapOk(GNTTAB_RESERVED_XENSTORE, false, conn);
  EXPECT_EQ(m.offset(), 32 * test::kMiB + GuestRam::kStorePage * kPage);
  PageMap page(fds[0].get(), m.offset(), PROT_READ | PROT_WRITE);
  ASSERT_NE(page.bytes(), nullptr);
  page.bytes()[5] = 0xee;
  EXPECT_EQ(ram().specialPage(GuestRam::kStorePage)[5], 0xee) << "xenstored's writes land in the guest's ring";
}

TEST_F(ControlGrantTest, GuestRamFdOffsetsFollowTheLowHighSplit) {
  // Sparse: nothing is touched, so 3 GiB + 8 MiB costs nothing.
  auto big = GuestRam::create(GuestRam::kLowRamTop + 8 * test::kMiB, "fd-offsets");
  ASSERT_TRUE(big.isOk()) << big.status().toString();
  GuestRam& r = **big;
  EXPECT_EQ(*r.fdOffset(0x1000), 0x1000u);
  EXPECT_EQ(*r.fdOffset(0x1234), 0x1000u) << "rounded down to its page";
  EXPECT_EQ(*r.fdOffset(GuestRam::kHighRamBase), GuestRam::kLowRamTop);
  EXPECT_EQ(*r.fdOffset(GuestRam::kHighRamBase + 8 * test::kMiB - kPage), GuestRam::kLowRamTop + 8 * test::kMiB - kPage);
  EXPECT_EQ(r.fdOffset(GuestRam::kLowRamTop).status().code(), EFAULT) << "the MMIO hole";
  EXPECT_EQ(r.fdOffset(GuestRam::kHighRamBase + 8 * test::kMiB).status().code(), EFAULT) << "past RAM";
  EXPECT_GE(r.fd(), 0);
}

TEST_F(ControlGrantTest, HostileMapsGetXensCodes) {
  grant(6, GTF_permit_access, kData, 5);  // granted to domain 5, not dom0
  grant(7, GTF_permit_access | GTF_readonly);
  grant(8, GTF_permit_access);
  grant(8, 0);  // revoked
  grant(9, GTF_permit_access | GTF_sub_page);
  grant(10, GTF_accept_transfer);
  EXPECT_EQ(mapStatus(guest, 1u << 20, true), GNTST_bad_gntref) << "beyond the table";
  EXPECT_EQ(mapStatus(guest, 0xffffffffu, true), GNTST_bad_gntref);
  EXPECT_EQ(mapStatus(guest, 6, true), GNTST_general_error) << "granted to someone else";
  EXPECT_EQ(mapStatus(guest, 7, false), GNTST_general_error) << "read-only mapped writable";
  EXPECT_EQ(flags(7), GTF_permit_access | GTF_readonly);
  EXPECT_EQ(mapStatus(guest, 8, true), GNTST_general_error) << "revoked";
  EXPECT_EQ(mapStatus(guest, 11, true), GNTST_general_error) << "never granted";
  EXPECT_EQ(mapStatus(guest, 9, true), GNTST_general_error) << "sub-page grants cannot be mapped";
  EXPECT_EQ(mapStatus(guest, 10, true), GNTST_general_error) << "not an access grant";
  EXPECT_EQ(mapStatus(guest + 100, 8, true), GNTST_bad_domain) << "no such domain";
  EXPECT_EQ(mapStatus(0, 0, true), GNTST_bad_domain) << "dom0 grants nothing to itself";
  EXPECT_EQ(mapStatus(DOMID_SELF, 0, true), GNTST_bad_domain);
  EXPECT_EQ(mapStatus(guest + 0x10000, 7, true), GNTST_bad_domain) << "a wide domid must not alias the guest";
  EXPECT_EQ(hv.grantOps().mappingCount(), 0u);
  EXPECT_EQ(conn.grants().count(), 0u);
}

TEST_F(ControlGrantTest, UnmapOnlyOwnHandles) {
  grant(3, GTF_permit_access);
  Dom0PortOwner other(hv.dom0EventChannels());
  const pb::GrantMapped theirs = mapOk(3, false, other);
  EXPECT_EQ(unmapStatus(theirs.handle(), conn), GNTST_bad_handle) << "another connection's handle";
  EXPECT_EQ(unmapStatus(theirs.handle() + 1000, conn), GNTST_bad_handle) << "an unknown handle";
  EXPECT_EQ(unmapStatus(0xffffffffu, conn), GNTST_bad_handle);
  EXPECT_EQ(hv.grantOps().mappingCount(), 1u) << "the owner's mapping survives";
  EXPECT_EQ(flags(3), GTF_permit_access | GTF_reading | GTF_writing);
  EXPECT_EQ(unmapStatus(theirs.handle(), other), GNTST_okay);
  EXPECT_EQ(flags(3), GTF_permit_access);
}

TEST_F(ControlGrantTest, ConnectionCloseDropsItsMappings) {
  grant(3, GTF_permit_access);
  grant(4, GTF_permit_access | GTF_readonly);
  const pb::GrantMapped mine = mapOk(3, true, conn);
  {
    Dom0PortOwner closing(hv.dom0EventChannels());
    mapOk(3, false, closing);
    mapOk(4, true, closing);
    EXPECT_EQ(hv.grantOps().mappingCount(), 3u);
    EXPECT_EQ(gt().pins(3), 2u);
  }
  EXPECT_EQ(hv.grantOps().mappingCount(), 1u) << "only the closed connection's mappings go";
  EXPECT_EQ(gt().pins(3), 1u);
  EXPECT_EQ(flags(3), GTF_permit_access | GTF_reading) << "the write pin went with it";
  EXPECT_EQ(flags(4), GTF_permit_access | GTF_readonly);
  EXPECT_EQ(unmapStatus(mine.handle(), conn), GNTST_okay);
  // handle() without an owner keeps nothing either.
  pb::Request r = map(guest, 3, true);
  pb::Response a = server.handle(r);
  EXPECT_EQ(a.grant_mapped().status(), GNTST_okay);
  EXPECT_EQ(hv.grantOps().mappingCount(), 0u);
}

TEST_F(ControlGrantTest, GranterDestroyedUnderALiveMapping) {
  std::memset(gfnPtr(kData), 0x11, kPage);
  grant(3, GTF_permit_access);
  const pb::GrantMapped m = mapOk(3, false, conn);
  PageMap page(fds[0].get(), m.offset(), PROT_READ | PROT_WRITE);
  ASSERT_NE(page.bytes(), nullptr);
  fds.clear();  // only the mmap keeps the memory now
  ASSERT_TRUE(hv.destroy(guest).isOk());
  EXPECT_EQ(page.bytes()[0], 0x11) << "dom0's mmap keeps the pages";
  page.bytes()[0] = 0x22;  // and writing them harms no one
  EXPECT_EQ(page.bytes()[0], 0x22);
  pb::Response c = call(copy(guest, {seg(3, 0, 8, false)}));
  EXPECT_EQ(c.grant_copied().status(0), GNTST_bad_domain);
  EXPECT_EQ(mapStatus(guest, 3, true), GNTST_bad_domain);
  EXPECT_EQ(unmapStatus(m.handle(), conn), GNTST_okay) << "Xen unmaps a dead granter's grant too";
  EXPECT_EQ(hv.grantOps().mappingCount(), 0u);
}

TEST_F(ControlGrantTest, GranterDestroyedBeforeConnectionClose) {
  grant(3, GTF_permit_access);
  Dom0PortOwner closing(hv.dom0EventChannels());
  mapOk(3, false, closing);
  fds.clear();
  ASSERT_TRUE(hv.destroy(guest).isOk());
  closing.grants().releaseAll();
  EXPECT_EQ(hv.grantOps().mappingCount(), 0u);
}

TEST_F(ControlGrantTest, CopyBothWaysWithPerSegmentStatus) {
  for (size_t i = 0; i < kPage; ++i) gfnPtr(kData)[i] = static_cast<uint8_t>(i * 7);
  grant(3, GTF_permit_access);
  grant(4, GTF_permit_access | GTF_readonly, kData + 1);
  pb::Response r = call(copy(guest, {
                                        seg(3, 10, 4, false),                 // read
                                        seg(3, 4000, 96, true, std::string(96, 'w')),  // write
                                        seg(4, 0, 4, true, "nope"),           // read-only grant
                                        seg(3, 4090, 7, false),               // crosses the page
                                        seg(3, 5000, 0, false),               // offset past the page
                                        seg(77, 0, 4, false),                 // never granted
                                        seg(1u << 20, 0, 4, false),           // beyond the table
                                        seg(3, 0, 0, false),                  // empty
                                        seg(4, 8, 4, false),                  // read of a read-only grant
                                    }));
  ASSERT_EQ(r.error_code(), 0) << r.error();
  const auto& c = r.grant_copied();
  ASSERT_EQ(c.status_size(), 9);
  ASSERT_EQ(c.data_size(), 9);
  EXPECT_EQ(c.status(0), GNTST_okay);
  EXPECT_EQ(c.data(0), std::string({char(70), char(77), char(84), char(91)}));
  EXPECT_EQ(c.status(1), GNTST_okay);
  EXPECT_TRUE(c.data(1).empty());
  EXPECT_EQ(gfnPtr(kData)[4000], 'w');
  EXPECT_EQ(gfnPtr(kData)[4095], 'w');
  EXPECT_EQ(c.status(2), GNTST_general_error);
  EXPECT_EQ(gfnPtr(kData + 1)[0], 0) << "nothing written through a read-only grant";
  EXPECT_EQ(c.status(3), GNTST_bad_copy_arg);
  EXPECT_EQ(c.status(4), GNTST_bad_copy_arg);
  EXPECT_EQ(c.status(5), GNTST_general_error);
  EXPECT_EQ(c.status(6), GNTST_bad_gntref);
  EXPECT_EQ(c.status(7), GNTST_okay);
  EXPECT_EQ(c.status(8), GNTST_okay);
  for (int i = 2; i < 7; ++i) EXPECT_TRUE(c.data(i).empty()) << i;
  EXPECT_EQ(flags(3), GTF_permit_access) << "copies leave no pin behind";
  EXPECT_EQ(gt().pins(3), 0u);

  pb::Response bad = call(copy(guest + 100, {seg(3, 0, 4, false), seg(3, 0, 4, true, "abcd")}));
  ASSERT_EQ(bad.grant_copied().status_size(), 2);
  EXPECT_EQ(bad.grant_copied().status(0), GNTST_bad_domain);
  EXPECT_EQ(bad.grant_copied().status(1), GNTST_bad_domain);
  pb::Response wide = call(copy(guest + 0x10000, {seg(3, 0, 4, false)}));
  EXPECT_EQ(wide.grant_copied().status(0), GNTST_bad_domain) << "a wide domid must not alias the guest";
}

TEST_F(ControlGrantTest, MalformedCopiesAreEinvalAndTouchNothing) {
  grant(3, GTF_permit_access);
  expectEinval(call(copy(guest, {seg(3, 0, 4, true, "abcdef")})), "carries 6 bytes for len 4");
  expectEinval(call(copy(guest, {seg(3, 0, 4, true, "ab")})), "carries 2 bytes for len 4");
  EXPECT_EQ(gfnPtr(kData)[0], 0);
  expectEinval(call(copy(guest, {seg(3, 0, 4, false, "xx")})), "reads from the guest but carries data");
  std::vector<pb::GrantCopySeg> many(257, seg(3, 0, 1, false));
  expectEinval(call(copy(guest, many)), "the limit is 256 per request");
  many.resize(256);
  EXPECT_EQ(call(copy(guest, many)).grant_copied().status_size(), 256) << "256 is allowed";
  // Within 256 segments, one byte over 1 MiB (the over-long segment counts too).
  std::vector<pb::GrantCopySeg> big{seg(3, 0, 4096, true, std::string(4096, 'x'))};
  for (int i = 0; i < 254; ++i) big.push_back(seg(3, 0, 4096, false));
  big.push_back(seg(3, 0, 4097, false));
  expectEinval(call(copy(guest, big)), "the limit is 1048576 per request");
  EXPECT_EQ(gfnPtr(kData)[0], 0) << "a refused request writes nothing";
  std::vector<pb::GrantCopySeg> huge{seg(3, 0, 0xffffffffu, false), seg(3, 0, 0xffffffffu, false)};
  expectEinval(call(copy(guest, huge)), "per request");
}

TEST_F(ControlGrantTest, GranterRevokingOrDestroyedDuringCopiesHarmsOnlyItsOwnOps) {
  grant(3, GTF_permit_access);
  std::atomic<bool> stop{false};
  // The guest flips its entry as fast as it can while dom0 copies.
  std::thread flipper([&] {
    grant_entry_v1_t* e = gt().entry(3);
    for (int i = 0; !stop.load() && i < 200000; ++i) {
      std::atomic_ref<uint16_t>(e->flags).fetch_xor(GTF_permit_access);
    }
  });
  size_t okay = 0, refused = 0;
  for (int i = 0; i < 300; ++i) {
    pb::Response r = call(copy(guest, {seg(3, 0, 64, false), seg(3, 64, 64, true, std::string(64, 'z'))}));
    ASSERT_EQ(r.grant_copied().status_size(), 2);
    for (int k = 0; k < 2; ++k) (r.grant_copied().status(k) == GNTST_okay ? okay : refused)++;
  }
  stop = true;
  flipper.join();
  EXPECT_EQ(okay + refused, 600u);
  EXPECT_EQ(gt().pins(3), 0u);

  // Destroy the granter while another thread keeps copying from it.
  std::atomic<bool> go{true};
  std::atomic<size_t> rounds{0};
  std::thread copier([&] {
    Dom0PortOwner own(hv.dom0EventChannels());
    while (go.load()) {
      std::vector<UniqueFd> f;
      pb::Request q = copy(guest, {seg(3, 0, 4096, false)});
      pb::Response r = server.handle(q, own, f);
      if (r.grant_copied().status_size() == 1 && r.grant_copied().status(0) == GNTST_bad_domain) break;
      rounds.fetch_add(1);
    }
  });
  ASSERT_TRUE(test::waitUntil([&] { return rounds.load() > 10; }));
  ASSERT_TRUE(hv.destroy(guest).isOk());
  go = false;
  copier.join();
}

}  // namespace
}  // namespace smartvm::hv
