// Hypercalls through the real path: registers in, IoExit on port 0xe4,
// ExitDispatcher -> HypercallTable -> handler, rax and guest memory out.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <xen/features.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/xen.h>

#include <cstring>
#include <string>

#include "HvTestUtil.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;
using test::kMiB;

constexpr int64_t neg(int e) { return -static_cast<int64_t>(e); }

// Guest-virtual == guest-physical under the harness's identity map.
constexpr uint64_t kArg = 0x400000;     // argument structs
constexpr uint64_t kBuf = 0x410000;     // buffers they point at
constexpr uint64_t kRamEnd = 64 * kMiB;

class Hypercall : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.bootAndStart());
    std::memset(h.gpa(kArg, 0x20000), 0, 0x20000);
  }
  uint64_t count(const std::string& name) {
    auto m = h.domain().counters().hypercallCounts();
    auto it = m.find(name);
    return it == m.end() ? 0 : it->second;
  }
  DomainHarness h;
};

// ---- xen_version ----

TEST_F(Hypercall, XenVersion) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_version), 0x40011);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_pagesize), 4096);
  EXPECT_EQ(count("xen_version"), 2u);
  EXPECT_GE(h.fake().dirtyMarks, 2) << "rax changes must be marked for the backend";
}

TEST_F(Hypercall, XenVersionExtraversionWrittenToGuest) {
  std::memset(h.gpa(kBuf, 32), 0x77, 32);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_extraversion, kBuf), 0);
  char want[XEN_EXTRAVERSION_LEN] = ".0-smartvm";
  EXPECT_EQ(std::memcmp(h.gpa(kBuf, sizeof want), want, sizeof want), 0);
  EXPECT_EQ(h.gpa(kBuf)[XEN_EXTRAVERSION_LEN], 0x77) << "exactly xen_extraversion_t is written";
}

TEST_F(Hypercall, XenVersionExtraversionBadPointer) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_extraversion, kRamEnd - 8), neg(EFAULT));
  EXPECT_EQ(h.get<uint64_t>(kRamEnd - 8), 0u) << "a failed write leaves guest memory unchanged";
}

TEST_F(Hypercall, XenVersionGetFeatures) {
  xen_feature_info_t fi{0, 0xdeadbeef};
  h.put(kArg, fi);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_get_features, kArg), 0);
  const auto out = h.get<xen_feature_info_t>(kArg);
  EXPECT_EQ(out.submap_idx, 0u);
  EXPECT_EQ(out.submap, (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_auto_translated_physmap) |
                            (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock));
  EXPECT_TRUE(out.submap & (1u << XENFEAT_hvm_callback_vector));

  xen_feature_info_t fi1{1, 0xdeadbeef};
  h.put(kArg, fi1);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_get_features, kArg), neg(EINVAL));
  EXPECT_EQ(h.get<xen_feature_info_t>(kArg).submap, 0xdeadbeefu);
}

TEST_F(Hypercall, XenVersionPrivilegedAndUnknownSubops) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_commandline, kBuf), neg(EPERM));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_build_id, kBuf), neg(EPERM));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, 0x7777, kBuf), neg(ENOSYS));
  EXPECT_EQ(count("xen_version"), 3u);
  EXPECT_EQ(count("unknown"), 0u) << "an unknown sub-op is not an unknown hypercall";
}

TEST_F(Hypercall, XenVersionGuestHandleIsDomainUuid) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_guest_handle, kBuf), 0);
  EXPECT_EQ(std::memcmp(h.gpa(kBuf, 16), h.domain().handle(), 16), 0);
  EXPECT_EQ(h.gpa(kBuf)[6] >> 4, 4) << "RFC 4122 version 4";
}

// ---- table / dispatch ----

TEST_F(Hypercall, UnknownNumbersAreEnosysAndCounted) {
  for (uint64_t nr : {uint64_t{63}, uint64_t{64}, uint64_t{1000}, uint64_t{1} << 40, uint64_t{__HYPERVISOR_mmu_update}}) {
    EXPECT_EQ(h.hypercall(nr), neg(ENOSYS)) << nr;
  }
  EXPECT_EQ(count("unknown"), 5u);
  EXPECT_EQ(h.domain().counters().unknownHypercalls.load(), 5u);
  EXPECT_EQ(h.domain().info().hypercall_counts().at("unknown"), 5u);
}

TEST_F(Hypercall, UserModeCallerGetsEperm) {
  h.fake().mutableSregs().ss.dpl = 3;
  EXPECT_EQ(h.hypercall(__HYPERVISOR_xen_version, XENVER_version), neg(EPERM));
  const char msg[] = "nope";
  std::memcpy(h.gpa(kBuf, 4), msg, 4);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 4, kBuf), neg(EPERM));
  EXPECT_EQ(h.domain().console().snapshot(), "");
  EXPECT_EQ(h.domain().counters().hypercallCounts().size(), 0u) << "refused before the table";
}

TEST_F(Hypercall, Compat32CallerGetsVersionButNotMemoryOp) {
  h.setCompat32();
  EXPECT_EQ(h.hypercall32(__HYPERVISOR_xen_version, XENVER_version), 0x40011u);
  EXPECT_EQ(h.hypercall32(__HYPERVISOR_memory_op, XENMEM_current_reservation, kArg),
            static_cast<uint32_t>(-ENOSYS));
  EXPECT_EQ(h.hypercall32(__HYPERVISOR_hvm_op, HVMOP_get_param, kArg), static_cast<uint32_t>(-ENOSYS));
  // Upper register halves are ignored in 32-bit mode.
  EXPECT_EQ(h.hypercall32((uint64_t{0xffff} << 32) | __HYPERVISOR_xen_version, XENVER_version), 0x40011u);
  // console_io with ebx/ecx/edx, paging off: addresses are physical.
  std::memcpy(h.gpa(kBuf, 5), "hi32\n", 5);
  EXPECT_EQ(h.hypercall32(__HYPERVISOR_console_io, CONSOLEIO_write, 5, kBuf), 0u);
  EXPECT_EQ(h.domain().console().snapshot(), "hi32\n");
  EXPECT_EQ(count("xen_version"), 2u);
  EXPECT_EQ(count("unknown"), 2u);
}

// ---- console_io ----

TEST_F(Hypercall, ConsoleWriteAppendsExactBytes) {
  const std::string text = std::string("hello\0world", 11) + "\n";
  std::memcpy(h.gpa(kBuf, text.size()), text.data(), text.size());
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, text.size(), kBuf), 0);
  EXPECT_EQ(h.domain().console().snapshot(), text);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 0, kBuf), 0);
  EXPECT_EQ(h.domain().console().endOffset(), text.size());
  EXPECT_EQ(count("console_io"), 2u);
}

TEST_F(Hypercall, ConsoleWriteCrossingPagesAndChunks) {
  // 3000 bytes starting 100 bytes before a page boundary: several 512-byte chunks.
  std::string text;
  for (int i = 0; i < 3000; ++i) text.push_back(static_cast<char>('a' + i % 26));
  const uint64_t at = kBuf + 0x1000 - 100;
  std::memcpy(h.gpa(at, text.size()), text.data(), text.size());
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, text.size(), at), 0);
  EXPECT_EQ(h.domain().console().snapshot(), text);
}

TEST_F(Hypercall, ConsoleReadAndUnknownSubop) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_read, 16, kBuf), 0);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, 99, 16, kBuf), neg(ENOSYS));
}

TEST_F(Hypercall, ConsoleWriteBadPointers) {
  // gva 768 MiB: mapped by the page tables, but the gpa is past the 64 MiB of RAM.
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 16, 0x30000000), neg(EFAULT));
  // PML4 slot 1: not present.
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 16, uint64_t{1} << 39), neg(EFAULT));
  // Non-canonical.
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 16, 0x0000800000000000ull), neg(EFAULT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 16, 0xfffffffffffffff8ull), neg(EFAULT));
  // 200 bytes straddling the end of RAM: fits in the first 512-byte chunk, which fails as a whole.
  std::memset(h.gpa(kRamEnd - 100, 100), 'z', 100);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 200, kRamEnd - 100), neg(EFAULT));
  EXPECT_EQ(h.domain().console().endOffset(), 0u) << "nothing appended from failed chunks";
}

TEST_F(Hypercall, ConsoleWriteHugeCountStopsAtFirstBadChunk) {
  // count 0xffffffff from the last RAM page: the 8 full 512-byte chunks of that
  // page are appended (as Xen copies chunk by chunk), then -EFAULT; nothing more.
  std::memset(h.gpa(kRamEnd - 4096, 4096), 'q', 4096);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, 0xffffffffull, kRamEnd - 4096), neg(EFAULT));
  EXPECT_EQ(h.domain().console().endOffset(), 4096u);
  EXPECT_EQ(h.domain().console().snapshot(), std::string(4096, 'q'));
  // The upper half of the count register is ignored (Xen's count is an unsigned int).
  std::memcpy(h.gpa(kBuf, 3), "abc", 3);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, (uint64_t{1} << 32) | 3, kBuf), 0);
  EXPECT_EQ(h.domain().console().endOffset(), 4099u);
}

// ---- memory_op ----

struct __attribute__((packed)) E820 {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};
static_assert(sizeof(E820) == 20);

TEST_F(Hypercall, MemoryMapMinRule) {
  xen_memory_map_t m{};
  m.nr_entries = 8;
  set_xen_guest_handle(m.buffer, reinterpret_cast<void*>(kBuf));
  std::memset(h.gpa(kBuf, 200), 0xee, 200);
  h.put(kArg, m);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kArg), 0);
  EXPECT_EQ(h.get<xen_memory_map_t>(kArg).nr_entries, 2u) << "64 MiB of RAM, then the reserved special pages";
  const E820 e = h.get<E820>(kBuf);
  EXPECT_EQ(e.addr, 0u);
  EXPECT_EQ(e.size, kRamEnd);
  EXPECT_EQ(e.type, 1u);
  EXPECT_EQ(h.get<E820>(kBuf + 20).type, 2u);
  EXPECT_EQ(h.gpa(kBuf)[40], 0xee) << "nothing past the two entries";
  m.nr_entries = 1;
  std::memset(h.gpa(kBuf, 200), 0xee, 200);
  h.put(kArg, m);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kArg), 0);
  EXPECT_EQ(h.get<xen_memory_map_t>(kArg).nr_entries, 1u) << "min(1, 2)";
  EXPECT_EQ(h.gpa(kBuf)[20], 0xee) << "nothing past the one entry asked for";
}

TEST_F(Hypercall, MemoryMapZeroEntriesWritesNothing) {
  xen_memory_map_t m{};
  m.nr_entries = 0;
  set_xen_guest_handle(m.buffer, reinterpret_cast<void*>(kBuf));
  std::memset(h.gpa(kBuf, 32), 0xee, 32);
  h.put(kArg, m);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kArg), 0);
  EXPECT_EQ(h.get<xen_memory_map_t>(kArg).nr_entries, 0u);
  EXPECT_EQ(h.gpa(kBuf)[0], 0xee);
}

TEST_F(Hypercall, MemoryMapBadPointers) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kRamEnd + 0x1000), neg(EFAULT));
  xen_memory_map_t m{};
  m.nr_entries = 4;
  set_xen_guest_handle(m.buffer, reinterpret_cast<void*>(uint64_t{1} << 39));
  h.put(kArg, m);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kArg), neg(EFAULT));
  EXPECT_EQ(h.get<xen_memory_map_t>(kArg).nr_entries, 4u) << "the header is not updated on failure";
}

TEST_F(Hypercall, MemoryMapWithTwoRegions) {
  DomainHarness big("big", 3 * 1024 + 512);  // 3.5 GiB: 3 GiB low + 512 MiB from 4 GiB
  ASSERT_TRUE(big.bootAndStart());
  xen_memory_map_t m{};
  m.nr_entries = 1;
  set_xen_guest_handle(m.buffer, reinterpret_cast<void*>(kBuf));
  big.put(kArg, m);
  EXPECT_EQ(big.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kArg), 0);
  EXPECT_EQ(big.get<xen_memory_map_t>(kArg).nr_entries, 1u) << "min(1, 2)";
  m.nr_entries = 5;
  big.put(kArg, m);
  EXPECT_EQ(big.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kArg), 0);
  EXPECT_EQ(big.get<xen_memory_map_t>(kArg).nr_entries, 3u) << "min(5, 3): low RAM, special pages, high RAM";
  EXPECT_EQ(big.get<E820>(kBuf + 20).addr, 0xfeff8000ull) << "reserved, between the two RAM regions";
  const E820 e1 = big.get<E820>(kBuf + 40);
  EXPECT_EQ(e1.addr, 0x100000000ull);
  EXPECT_EQ(e1.size, 512 * kMiB);
  EXPECT_EQ(big.get<E820>(kBuf).size, 0xC0000000ull);
  auto vm = big.platform().vms().at(0);
  ASSERT_EQ(vm->slots.count(1), 1u);
  EXPECT_EQ(vm->slots[1].gpa, 0x100000000ull);
  EXPECT_EQ(vm->slots[1].size, 512 * kMiB);
}

TEST_F(Hypercall, Reservations) {
  h.put<domid_t>(kArg, DOMID_SELF);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_current_reservation, kArg), 16384);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_maximum_reservation, kArg), 16384);
  h.put<domid_t>(kArg, 7);  // our own domid
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_current_reservation, kArg), 16384);
  h.put<domid_t>(kArg, 5);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_current_reservation, kArg), neg(EPERM));
  h.put<domid_t>(kArg, DOMID_IO);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_current_reservation, kArg), neg(ESRCH));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_current_reservation, kRamEnd), neg(EFAULT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_maximum_ram_page), 16383);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, 63), neg(ENOSYS));
  EXPECT_EQ(count("memory_op"), 8u);
}

xen_add_to_physmap_t physmap(domid_t domid, unsigned space, xen_ulong_t idx, xen_pfn_t gpfn) {
  xen_add_to_physmap_t x{};
  x.domid = domid;
  x.size = 0;
  x.space = space;
  x.idx = idx;
  x.gpfn = gpfn;
  return x;
}

TEST_F(Hypercall, AddToPhysmapSharedInfoOnRam) {
  constexpr uint64_t kGpfn = 0x600;  // 6 MiB
  std::memset(h.gpa(kGpfn << 12, 4096), 0x5c, 4096);
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_shared_info, 0, kGpfn));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), 0);
  EXPECT_EQ(h.domain().sharedInfo().gpa(), kGpfn << 12);
  EXPECT_EQ(reinterpret_cast<uint8_t*>(h.domain().sharedInfo().get()), h.gpa(kGpfn << 12));
  const auto* si = reinterpret_cast<const shared_info_t*>(h.gpa(kGpfn << 12, sizeof(shared_info_t)));
  EXPECT_EQ(si->vcpu_info[0].evtchn_upcall_mask, 1);
  EXPECT_EQ(si->vcpu_info[0].evtchn_upcall_pending, 0);
  EXPECT_EQ(si->evtchn_pending[0], 0u) << "old frame contents replaced";
  EXPECT_EQ(h.gpa(kGpfn << 12)[4095], 0) << "the whole frame replaced";
  EXPECT_EQ(h.platform().vms().at(0)->slots.count(2), 0u) << "no special-page slot for a RAM frame";
}

TEST_F(Hypercall, AddToPhysmapSharedInfoOutsideRamThenRam) {
  constexpr uint64_t kHole = 0xfeff0;  // in the MMIO hole
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_shared_info, 0, kHole));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), 0);
  auto vm = h.platform().vms().at(0);
  ASSERT_EQ(vm->slots.count(2), 1u);
  EXPECT_EQ(vm->slots[2].gpa, kHole << 12);
  EXPECT_EQ(vm->slots[2].size, 4096u);
  EXPECT_EQ(vm->slots[2].hva, static_cast<void*>(h.domain().sharedInfo().get()));
  h.domain().sharedInfo().get()->wc_sec = 1234;
  // Moving it onto RAM keeps the contents and drops the slot.
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_shared_info, 0, 0x700));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), 0);
  EXPECT_EQ(vm->slots.count(2), 0u);
  EXPECT_EQ(reinterpret_cast<const shared_info_t*>(h.gpa(0x700000, 4096))->wc_sec, 1234u);
}

TEST_F(Hypercall, AddToPhysmapSharedInfoAtGpfnZero) {
  std::memset(h.gpa(0, 4096), 0x5c, 4096);
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_shared_info, 0, 0));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), 0);
  EXPECT_EQ(reinterpret_cast<uint8_t*>(h.domain().sharedInfo().get()), h.gpa(0));
  EXPECT_EQ(h.domain().sharedInfo().gpa(), 0u);
  EXPECT_EQ(reinterpret_cast<const shared_info_t*>(h.gpa(0, 4096))->vcpu_info[0].evtchn_upcall_mask, 1);
}

TEST_F(Hypercall, AddToPhysmapRefusals) {
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_shared_info, 1, 0x600));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), neg(EINVAL));
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_shared_info, 0, xen_pfn_t{1} << 28));  // 2^40: past kMaxGpa
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), neg(EINVAL));
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_shared_info, 0, ~xen_pfn_t{0}));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), neg(EINVAL));
  h.put(kArg, physmap(5, XENMAPSPACE_shared_info, 0, 0x600));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), neg(EPERM));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kRamEnd), neg(EFAULT));
  EXPECT_EQ(h.domain().sharedInfo().gpa(), SharedInfoPage::kNotPlaced) << "nothing placed";
  EXPECT_EQ(count("memory_op"), 5u);
}

TEST_F(Hypercall, AddToPhysmapGrantTableIsAMemoryOp) {
  // Placement itself is covered in GrantTableOpTest.cpp.
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_grant_table, 0, 0x600));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), 0);
  h.put(kArg, physmap(DOMID_SELF, XENMAPSPACE_grant_table, 64, 0x600));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), neg(EINVAL));
  EXPECT_EQ(count("memory_op"), 2u);
  EXPECT_EQ(count("unknown"), 0u) << "an -EINVAL memory_op is not an unknown hypercall";
}

// ---- hvm_op ----

xen_hvm_param_t hvmParam(domid_t domid, uint32_t index, uint64_t value = 0) {
  xen_hvm_param_t p{};
  p.domid = domid;
  p.index = index;
  p.value = value;
  return p;
}

TEST_F(Hypercall, HvmParamCallbackIrqRoundTrip) {
  const uint64_t via = (uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56) | 0xf3;
  h.put(kArg, hvmParam(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, via));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, kArg), 0);
  EXPECT_EQ(h.domain().hvmParam(HVM_PARAM_CALLBACK_IRQ), via);
  h.put(kArg + 0x100, hvmParam(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, 0));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, kArg + 0x100), 0);
  EXPECT_EQ(h.get<xen_hvm_param_t>(kArg + 0x100).value, via);
  EXPECT_EQ(count("hvm_op"), 2u);
}

TEST_F(Hypercall, HvmParamRefusals) {
  h.put(kArg, hvmParam(DOMID_SELF, HVM_PARAM_STORE_PFN, 0x1234));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, kArg), neg(EPERM));
  EXPECT_EQ(h.domain().hvmParam(HVM_PARAM_STORE_PFN), 0xfeffcu) << "the builder's value stands";
  // STORE_PFN is readable though not settable.
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, kArg), 0);
  EXPECT_EQ(h.get<xen_hvm_param_t>(kArg).value, 0xfeffcu);

  h.put(kArg, hvmParam(DOMID_SELF, HVM_NR_PARAMS, 1));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, kArg), neg(EINVAL));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, kArg), neg(EINVAL));
  h.put(kArg, hvmParam(DOMID_SELF, HVM_PARAM_IDENT_PT, 1));  // not readable by the guest
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, kArg), neg(EPERM));
  EXPECT_EQ(h.get<xen_hvm_param_t>(kArg).value, 1u) << "not written back";
  h.put(kArg, hvmParam(5, HVM_PARAM_CALLBACK_IRQ, 1));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, kArg), neg(EPERM));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, kArg), neg(EPERM));
  h.put(kArg, hvmParam(DOMID_XEN, HVM_PARAM_CALLBACK_IRQ, 1));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, kArg), neg(ESRCH));
  EXPECT_EQ(h.domain().hvmParam(HVM_PARAM_CALLBACK_IRQ), 0u);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, kRamEnd), neg(EFAULT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, 0x77, kArg), neg(ENOSYS));
}

// ---- vcpu_op ----

TEST_F(Hypercall, VcpuOpRunstateAndIsUp) {
  std::memset(h.gpa(kBuf, sizeof(vcpu_runstate_info_t) + 8), 0xee, sizeof(vcpu_runstate_info_t) + 8);
  const uint64_t before = monotonicNs();
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 0, kBuf), 0);
  const auto ri = h.get<vcpu_runstate_info_t>(kBuf);
  EXPECT_EQ(ri.state, RUNSTATE_runnable) << "the harness's vCPU thread is parked: runnable";
  EXPECT_GT(ri.state_entry_time, 0u);
  EXPECT_LE(ri.state_entry_time, before);
  EXPECT_EQ(h.gpa(kBuf)[sizeof(vcpu_runstate_info_t)], 0xee);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 0), 1);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 99, kBuf), neg(ENOENT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 1), neg(ENOENT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, uint64_t{1} << 32), neg(ENOENT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 0, kRamEnd), neg(EFAULT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_up, 0), 0) << "vCPU 0 is up already";
}

TEST(HypercallSmp, SecondaryVcpuIsOffline) {
  DomainHarness h("smp", 64, 2);
  ASSERT_TRUE(h.bootAndStart());
  EXPECT_EQ(h.platform().vms().at(0)->vcpuIds, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 0), 1);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 1), 0);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 1, kBuf), 0);
  EXPECT_EQ(h.get<vcpu_runstate_info_t>(kBuf).state, RUNSTATE_offline);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 2), neg(ENOENT));
}

// ---- sched_op ----

TEST_F(Hypercall, SchedShutdownPoweroff) {
  h.put(kArg, sched_shutdown_t{SHUTDOWN_poweroff});
  ExitAction action = ExitAction::Continue;
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, kArg, 0, 0, 0, &action), 0);
  EXPECT_EQ(action, ExitAction::Stop);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Shutdown);
  EXPECT_EQ(h.domain().state(), smartvm::v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_poweroff));
  EXPECT_EQ(h.domain().info().shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_EQ(h.shutdownCalls.load(), 1);
  EXPECT_EQ(h.lastShutdownDomid.load(), 7u);
  EXPECT_EQ(h.domain().crashDetail(), "");
}

TEST_F(Hypercall, SchedShutdownKeepsLowByteAndFirstReasonWins) {
  h.put(kArg, sched_shutdown_t{0x100 | SHUTDOWN_reboot});
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, kArg), 0);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_reboot));
  h.put(kArg, sched_shutdown_t{SHUTDOWN_poweroff});
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, kArg), 0);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_reboot));
  EXPECT_EQ(h.shutdownCalls.load(), 1);
}

TEST_F(Hypercall, SchedShutdownCodeThenShutdown) {
  h.put(kArg, sched_shutdown_t{SHUTDOWN_reboot});
  ExitAction action = ExitAction::Stop;
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown_code, kArg, 0, 0, 0, &action), 0);
  EXPECT_EQ(action, ExitAction::Continue);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Running) << "shutdown_code alone does not shut down";
  h.put(kArg, sched_shutdown_t{SHUTDOWN_poweroff});
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, kArg, 0, 0, 0, &action), 0);
  EXPECT_EQ(action, ExitAction::Stop);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_reboot)) << "the code overrides";
  EXPECT_EQ(h.domain().state(), smartvm::v1::DOMAIN_STATE_SHUTDOWN);
}

TEST_F(Hypercall, SchedShutdownCodeDoesNotOverrideCrash) {
  h.put(kArg, sched_shutdown_t{SHUTDOWN_reboot});
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown_code, kArg), 0);
  h.put(kArg, sched_shutdown_t{SHUTDOWN_crash});
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, kArg), 0);
  EXPECT_EQ(h.domain().shutdownReason(), static_cast<unsigned>(SHUTDOWN_crash));
  EXPECT_EQ(h.domain().state(), smartvm::v1::DOMAIN_STATE_CRASHED);
}

TEST_F(Hypercall, SchedOpRefusals) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, 0x55, kArg), neg(ENOSYS));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_remote_shutdown, kArg), neg(EPERM));
  ExitAction action = ExitAction::Stop;
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, kRamEnd, 0, 0, 0, &action), neg(EFAULT));
  EXPECT_EQ(action, ExitAction::Continue);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown_code, uint64_t{1} << 39), neg(EFAULT));
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield), 0);
  EXPECT_EQ(h.domain().phase(), DomainPhase::Running);
  EXPECT_EQ(h.shutdownCalls.load(), 0);
  EXPECT_EQ(count("sched_op"), 5u);
}

TEST_F(Hypercall, SchedBlockUnmasksEvents) {
  // Paused, so block() returns at once; the unmask is observable in shared_info.
  ASSERT_EQ(h.domain().sharedInfo().vcpuInfo(0)->evtchn_upcall_mask, 1);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_sched_op, SCHEDOP_block), 0);
  EXPECT_EQ(h.domain().sharedInfo().vcpuInfo(0)->evtchn_upcall_mask, 0);
}

TEST_F(Hypercall, Compat32SchedShutdown) {
  h.setCompat32();
  h.put(kArg, sched_shutdown_t{SHUTDOWN_poweroff});
  EXPECT_EQ(h.hypercall32(__HYPERVISOR_sched_op, SCHEDOP_shutdown, kArg), 0u);
  EXPECT_EQ(h.domain().state(), smartvm::v1::DOMAIN_STATE_SHUTDOWN);
}

}  // namespace
}  // namespace smartvm::hv
