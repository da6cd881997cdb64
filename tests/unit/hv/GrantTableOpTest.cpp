// grant_table_op and XENMEM_add_to_physmap(XENMAPSPACE_grant_table) through
// the real hypercall path, plus the table's limits and the config key.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include <cstring>
#include <string>

#include "HvTestUtil.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/grant/GrantTable.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;
using test::kMiB;

constexpr int64_t neg(int e) { return -static_cast<int64_t>(e); }

// Guest-virtual == guest-physical under the harness's identity map.
constexpr uint64_t kArg = 0x400000;
constexpr uint64_t kList = 0x410000;
constexpr uint64_t kRamEnd = 64 * kMiB;
constexpr uint64_t kHole = 0xfeff0;  // a gfn in the MMIO hole
// Slot of grant frame i's special page: RAM uses slots 0-1, special pages follow.
constexpr uint32_t grantSlot(uint32_t i) { return 2 + GrantTable::kFirstSpecialPage + i; }

class GrantTableOp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.bootAndStart());
    std::memset(h.gpa(kArg, 0x20000), 0, 0x20000);
  }
  GrantTable& gt() { return *h.domain().grantTable(); }
  int64_t op(uint64_t cmd, uint64_t count = 1, uint64_t arg = kArg) {
    return h.hypercall(__HYPERVISOR_grant_table_op, cmd, arg, count);
  }
  gnttab_query_size_t querySize(domid_t dom = DOMID_SELF) {
    h.put(kArg, gnttab_query_size_t{dom, 0, 0, 99});
    EXPECT_EQ(op(GNTTABOP_query_size), 0);
    return h.get<gnttab_query_size_t>(kArg);
  }
  int16_t setupTable(uint32_t frames, uint64_t list = kList, domid_t dom = DOMID_SELF) {
    gnttab_setup_table_t s{};
    s.dom = dom;
    s.nr_frames = frames;
    s.status = 99;
    s.frame_list.p = reinterpret_cast<xen_pfn_t*>(list);
    h.put(kArg, s);
    EXPECT_EQ(op(GNTTABOP_setup_table), 0);
    return h.get<gnttab_setup_table_t>(kArg).status;
  }
  int64_t addToPhysmap(xen_ulong_t idx, xen_pfn_t gpfn) {
    xen_add_to_physmap_t x{};
    x.domid = DOMID_SELF;
    x.space = XENMAPSPACE_grant_table;
    x.idx = idx;
    x.gpfn = gpfn;
    h.put(kArg, x);
    return h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg);
  }
  uint64_t count(const std::string& name) {
    auto m = h.domain().counters().hypercallCounts();
    auto it = m.find(name);
    return it == m.end() ? 0 : it->second;
  }
  DomainHarness h;
};

TEST_F(GrantTableOp, QuerySizeStartsAtOneFrameOfXensDefault64) {
  const auto q = querySize();
  EXPECT_EQ(q.status, GNTST_okay);
  EXPECT_EQ(q.nr_frames, 1u);
  EXPECT_EQ(q.max_nr_frames, 64u);
  EXPECT_EQ(querySize(7).nr_frames, 1u) << "its own domid works like DOMID_SELF";
}

TEST_F(GrantTableOp, QuerySizeOfAnotherDomainIsRefused) {
  EXPECT_EQ(querySize(5).status, GNTST_permission_denied);
  EXPECT_EQ(querySize(DOMID_IO).status, GNTST_bad_domain);
}

TEST_F(GrantTableOp, SetupTableGrowsAndListsUnplacedFramesAsInvalid) {
  std::memset(h.gpa(kList, 64), 0x11, 64);
  EXPECT_EQ(setupTable(4), GNTST_okay);
  EXPECT_EQ(gt().nrFrames(), 4u);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(h.get<xen_pfn_t>(kList + 8 * i), ~xen_pfn_t{0}) << i;
  EXPECT_EQ(h.get<uint64_t>(kList + 32), 0x1111111111111111ull) << "nothing past nr_frames written";
  EXPECT_EQ(querySize().nr_frames, 4u);
  EXPECT_EQ(setupTable(2), GNTST_okay);
  EXPECT_EQ(gt().nrFrames(), 4u) << "tables never shrink";
}

TEST_F(GrantTableOp, SetupTableReportsPlacedFrames) {
  ASSERT_EQ(addToPhysmap(1, 0x600), 0);
  EXPECT_EQ(setupTable(2), GNTST_okay);
  EXPECT_EQ(h.get<xen_pfn_t>(kList), ~xen_pfn_t{0});
  EXPECT_EQ(h.get<xen_pfn_t>(kList + 8), 0x600u);
}

TEST_F(GrantTableOp, SetupTableRefusals) {
  EXPECT_EQ(setupTable(65), GNTST_general_error) << "beyond max_grant_frames";
  EXPECT_EQ(setupTable(0xffffffffu), GNTST_general_error);
  EXPECT_EQ(gt().nrFrames(), 1u) << "a refused setup grows nothing";
  EXPECT_EQ(setupTable(2, kRamEnd), GNTST_bad_virt_addr) << "frame_list outside the guest";
  EXPECT_EQ(setupTable(2, kList, 5), GNTST_permission_denied);
  EXPECT_EQ(setupTable(2, kList, DOMID_XEN), GNTST_bad_domain);
  EXPECT_EQ(setupTable(0), GNTST_okay) << "zero frames asks for nothing";
  EXPECT_EQ(op(GNTTABOP_setup_table, 1, kRamEnd), neg(EFAULT)) << "unreadable argument";
}

TEST_F(GrantTableOp, SetupTableFrameListRunningOffTheGuestStopsThere) {
  // Two of four slots fit below the end of RAM: those two are written, then the status says why it stopped.
  const uint64_t list = kRamEnd - 2 * sizeof(xen_pfn_t);
  EXPECT_EQ(setupTable(4, list), GNTST_bad_virt_addr);
  EXPECT_EQ(h.get<xen_pfn_t>(list), ~xen_pfn_t{0});
  EXPECT_EQ(h.get<xen_pfn_t>(list + 8), ~xen_pfn_t{0});
  EXPECT_EQ(gt().nrFrames(), 4u) << "Xen grows the table before writing the list";
}

TEST_F(GrantTableOp, CountsAndCommandBitsAsXenChecksThem) {
  EXPECT_EQ(op(GNTTABOP_query_size, 0), neg(EINVAL));
  EXPECT_EQ(op(GNTTABOP_query_size, 2), neg(EINVAL));
  EXPECT_EQ(op(GNTTABOP_setup_table, 0x80000000u), neg(EINVAL)) << "a negative int count";
  EXPECT_EQ(op(GNTTABOP_setup_table, 0xffffffffu), neg(EINVAL));
  EXPECT_EQ(op(GNTTABOP_query_size | (1u << 12)), neg(EINVAL)) << "continuation bits from a guest";
  EXPECT_EQ(op(GNTTABOP_set_version, 1000000), neg(EINVAL));
  EXPECT_EQ(op(GNTTABOP_get_version, 0), neg(EINVAL));
  // Only the low 32 bits of cmd and count are Xen's arguments.
  h.put(kArg, gnttab_query_size_t{DOMID_SELF, 0, 0, 99});
  EXPECT_EQ(op(GNTTABOP_query_size | (1ull << 40), 1 | (1ull << 40)), 0);
  EXPECT_EQ(h.get<gnttab_query_size_t>(kArg).nr_frames, 1u);
}

TEST_F(GrantTableOp, SetVersionOnlyOne) {
  h.put(kArg, gnttab_set_version_t{1});
  EXPECT_EQ(op(GNTTABOP_set_version), 0);
  EXPECT_EQ(h.get<gnttab_set_version_t>(kArg).version, 1u);
  h.put(kArg, gnttab_set_version_t{2});
  EXPECT_EQ(op(GNTTABOP_set_version), neg(ENOSYS)) << "Xen with grant v2 disabled";
  EXPECT_EQ(h.get<gnttab_set_version_t>(kArg).version, 1u) << "the version in force is written back";
  h.put(kArg, gnttab_set_version_t{3});
  EXPECT_EQ(op(GNTTABOP_set_version), neg(EINVAL));
  EXPECT_EQ(h.get<gnttab_set_version_t>(kArg).version, 1u);
  EXPECT_EQ(op(GNTTABOP_set_version, 1, kRamEnd), neg(EFAULT));
}

TEST_F(GrantTableOp, GetVersion) {
  h.put(kArg, gnttab_get_version_t{DOMID_SELF, 0, 0});
  EXPECT_EQ(op(GNTTABOP_get_version), 0);
  EXPECT_EQ(h.get<gnttab_get_version_t>(kArg).version, 1u);
  h.put(kArg, gnttab_get_version_t{5, 0, 0});
  EXPECT_EQ(op(GNTTABOP_get_version), neg(EPERM));
  EXPECT_EQ(h.get<gnttab_get_version_t>(kArg).version, 0u);
  h.put(kArg, gnttab_get_version_t{DOMID_IO, 0, 0});
  EXPECT_EQ(op(GNTTABOP_get_version), neg(ESRCH));
}

TEST_F(GrantTableOp, OtherSubopsAreEnosysButCounted) {
  EXPECT_EQ(op(GNTTABOP_map_grant_ref), neg(ENOSYS));
  EXPECT_EQ(op(GNTTABOP_copy, 1000000000), neg(ENOSYS));
  EXPECT_EQ(op(GNTTABOP_get_status_frames), neg(ENOSYS));
  EXPECT_EQ(op(4095), neg(ENOSYS));
  EXPECT_EQ(count("grant_table_op"), 4u);
  EXPECT_EQ(count("unknown"), 0u);
}

TEST_F(GrantTableOp, AddToPhysmapOnRamMovesTheFrameThere) {
  grant_entry_v1_t* e = gt().entry(3);
  e->flags = GTF_permit_access;
  e->domid = 0;
  e->frame = 0x1234;
  std::memset(h.gpa(0x600000, 4096), 0x5c, 4096);
  EXPECT_EQ(addToPhysmap(0, 0x600), 0);
  EXPECT_EQ(gt().frameGfn(0), 0x600u);
  EXPECT_EQ(reinterpret_cast<uint8_t*>(gt().entry(0)), h.gpa(0x600000)) << "the RAM frame is the grant frame";
  const auto guestView = h.get<grant_entry_v1_t>(0x600000 + 3 * sizeof(grant_entry_v1_t));
  EXPECT_EQ(guestView.flags, GTF_permit_access);
  EXPECT_EQ(guestView.frame, 0x1234u);
  EXPECT_EQ(h.gpa(0x600000)[4095], 0) << "old frame contents replaced";
  EXPECT_EQ(h.platform().vms().at(0)->slots.count(grantSlot(0)), 0u) << "no slot for a RAM frame";
}

TEST_F(GrantTableOp, AddToPhysmapOutsideRamMapsTheSpecialPageThenMovesToRam) {
  EXPECT_EQ(addToPhysmap(2, kHole), 0);
  EXPECT_EQ(gt().nrFrames(), 3u) << "placing frame 2 grows the table to hold it";
  auto vm = h.platform().vms().at(0);
  ASSERT_EQ(vm->slots.count(grantSlot(2)), 1u);
  EXPECT_EQ(vm->slots[grantSlot(2)].gpa, kHole << 12);
  EXPECT_EQ(vm->slots[grantSlot(2)].size, 4096u);
  EXPECT_EQ(vm->slots[grantSlot(2)].hva, static_cast<void*>(gt().entry(2 * 512)));
  gt().entry(2 * 512 + 1)->frame = 0xabcd;
  EXPECT_EQ(addToPhysmap(2, 0x700), 0);
  EXPECT_EQ(vm->slots.count(grantSlot(2)), 0u);
  EXPECT_EQ(h.get<grant_entry_v1_t>(0x700000 + sizeof(grant_entry_v1_t)).frame, 0xabcdu) << "contents kept";
}

TEST_F(GrantTableOp, AddToPhysmapAtAnOccupiedGfnTakesTheOldFrameBack) {
  ASSERT_EQ(addToPhysmap(0, 0x600), 0);
  gt().entry(0)->frame = 0x77;
  ASSERT_EQ(addToPhysmap(1, 0x600), 0);
  EXPECT_EQ(gt().frameGfn(0), GrantTable::kUnplaced);
  EXPECT_EQ(gt().frameGfn(1), 0x600u);
  EXPECT_EQ(gt().entry(0)->frame, 0x77u) << "frame 0 keeps its entries in its own page";
  EXPECT_NE(reinterpret_cast<uint8_t*>(gt().entry(0)), h.gpa(0x600000));
}

TEST_F(GrantTableOp, AddToPhysmapRefusals) {
  EXPECT_EQ(addToPhysmap(64, 0x600), neg(EINVAL)) << "beyond max_grant_frames";
  EXPECT_EQ(addToPhysmap(XENMAPIDX_grant_table_status, 0x600), neg(EINVAL)) << "no status frames in v1";
  EXPECT_EQ(addToPhysmap(~xen_ulong_t{0}, 0x600), neg(EINVAL));
  EXPECT_EQ(addToPhysmap(0, xen_pfn_t{1} << 28), neg(EINVAL)) << "past the guest-physical space";
  EXPECT_EQ(addToPhysmap(0, ~xen_pfn_t{0}), neg(EINVAL));
  EXPECT_EQ(gt().nrFrames(), 1u);
  EXPECT_EQ(gt().frameGfn(0), GrantTable::kUnplaced);
  EXPECT_EQ(count("unknown"), 0u);
}

// ---- the table without a domain around it ----

class GrantTableAlone : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vm = platform.createVm();
    ASSERT_TRUE(vm.isOk());
    vm_ = std::move(*vm);
    auto ram = GuestRam::create(16 * kMiB, "grant-alone");
    ASSERT_TRUE(ram.isOk());
    ram_ = std::move(*ram);
    ASSERT_TRUE(ram_->attach(*vm_).isOk());
  }
  test::FakePlatform platform;
  std::unique_ptr<VmBackend> vm_;
  std::unique_ptr<GuestRam> ram_;
};

TEST_F(GrantTableAlone, MaxFramesFromConfigDefaultsAndClamps) {
  EXPECT_EQ(GrantTable(*ram_, 0).maxFrames(), 64u);
  EXPECT_EQ(GrantTable(*ram_, 1000).maxFrames(), 64u);
  GrantTable gt(*ram_, 4);
  EXPECT_EQ(gt.maxFrames(), 4u);
  EXPECT_EQ(gt.nrFrames(), 1u);
  EXPECT_TRUE(gt.grow(4).isOk());
  EXPECT_EQ(gt.grow(5).code(), EINVAL);
  EXPECT_EQ(gt.placeFrame(4, 0x100).code(), EINVAL);
  EXPECT_EQ(gt.nrFrames(), 4u);
  EXPECT_NE(gt.entry(4 * 512 - 1), nullptr);
  EXPECT_EQ(gt.entry(4 * 512), nullptr);
  EXPECT_EQ(gt.entry(0xffffffffu), nullptr);
}

TEST(GrantTableConfig, HypervisorHonoursAndBoundsMaxGrantFrames) {
  test::TempFile kernel{test::tinyPvhKernel()};
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
  auto big = test::makeConfig("big", kernel.path(), 32);
  big.set_max_grant_frames(65);
  auto r = hv.createDomain(big);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_NE(r.status().message().find("max_grant_frames"), std::string::npos) << r.status().message();
  auto small = test::makeConfig("small", kernel.path(), 32);
  small.set_max_grant_frames(4);
  small.set_start_paused(true);
  auto d = hv.createDomain(small);
  ASSERT_TRUE(d.isOk()) << d.status().toString();
  auto dom = hv.find(d->domid());
  ASSERT_NE(dom, nullptr);
  ASSERT_NE(dom->grantTable(), nullptr);
  EXPECT_EQ(dom->grantTable()->maxFrames(), 4u);
}

}  // namespace
}  // namespace smartvm::hv
