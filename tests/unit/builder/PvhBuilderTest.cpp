// buildPvh: segment loading, boot data layout, start info contents, refusals.
#include "smartvm/hv/builder/PvhBuilder.h"

#include <gtest/gtest.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "FakePhysMemory.h"
#include "TestElfBuilder.h"

namespace smartvm::hv {
namespace {

using test::FakePhysMemory;
using test::TestElfBuilder;

constexpr uint64_t kMiB = 1ull << 20;

template <class T>
void expectError(const Result<T>& r, int code, const std::string& fragment) {
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

struct Built {
  std::vector<uint8_t> kernel;
  std::vector<uint8_t> ramdisk;
  PvhBuildParams params() const { return {kernel, ramdisk, cmdline}; }
  std::string cmdline = "console=hvc0 root=/dev/xvda1";
};

Built defaultImage(bool is64 = true) {
  Built b;
  b.kernel = TestElfBuilder::pvhKernel(is64).build();
  b.ramdisk = TestElfBuilder::pattern(0x2345, 99);
  return b;
}

std::string readCString(FakePhysMemory& mem, uint64_t gpa) {
  std::string s;
  for (char c; (c = static_cast<char>(mem.get<uint8_t>(gpa))) != 0; ++gpa) s.push_back(c);
  return s;
}

void expectLoadedKernel(FakePhysMemory& mem, const TestElfBuilder& kb) {
  EXPECT_EQ(mem.bytes(0x100000, 0x3000), kb.segments[0].data);
  EXPECT_EQ(mem.bytes(0x103000, 0x2000), std::vector<uint8_t>(0x2000, 0)) << "bss must be zeroed";
  EXPECT_EQ(mem.get<uint8_t>(0x105000), 0xCC) << "bytes past p_memsz must stay untouched";
  EXPECT_EQ(mem.bytes(0x200000, 0x100), kb.segments[1].data);
}

void expectStartInfo(FakePhysMemory& mem, const PvhBootInfo& info, const Built& b) {
  auto si = mem.get<hvm_start_info>(info.startInfoGpa);
  EXPECT_EQ(si.magic, XEN_HVM_START_MAGIC_VALUE);
  EXPECT_EQ(si.version, 1u);
  EXPECT_EQ(si.flags, 0u);
  EXPECT_EQ(si.rsdp_paddr, 0u);
  EXPECT_EQ(si.reserved, 0u);
  ASSERT_EQ(si.nr_modules, 1u);
  auto mod = mem.get<hvm_modlist_entry>(si.modlist_paddr);
  EXPECT_EQ(mod.paddr, info.ramdiskGpa);
  EXPECT_EQ(mod.size, b.ramdisk.size());
  EXPECT_EQ(mod.cmdline_paddr, 0u);
  EXPECT_EQ(mod.reserved, 0u);
  EXPECT_EQ(mem.bytes(mod.paddr, mod.size), b.ramdisk);
  EXPECT_EQ(readCString(mem, si.cmdline_paddr), b.cmdline);
  auto map = mem.memoryMap();
  ASSERT_EQ(si.memmap_entries, map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    auto e = mem.get<hvm_memmap_table_entry>(si.memmap_paddr + i * sizeof(hvm_memmap_table_entry));
    EXPECT_EQ(e.addr, map[i].addr);
    EXPECT_EQ(e.size, map[i].size);
    EXPECT_EQ(e.type, map[i].type);
    EXPECT_EQ(e.reserved, 0u);
  }
}

TEST(PvhBuilder, LoadsElf64AndWritesStartInfo) {
  FakePhysMemory mem({{0, 32 * kMiB}}, 0xCC);
  Built b = defaultImage();
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  expectLoadedKernel(mem, TestElfBuilder::pvhKernel());
  EXPECT_EQ(r->entry, 0x100010u);
  EXPECT_EQ(r->kernelStart, 0x100000u);
  EXPECT_EQ(r->kernelEnd, 0x200100u);
  EXPECT_EQ(r->ramdiskGpa, 0x201000u) << "ramdisk goes page-aligned right after the kernel";
  EXPECT_EQ(r->ramdiskSize, b.ramdisk.size());
  EXPECT_EQ(r->startInfoGpa % 4096, 0u);
  EXPECT_GE(r->startInfoGpa, r->ramdiskGpa + r->ramdiskSize);
  EXPECT_EQ(r->guestOs, "linux");
  EXPECT_EQ(r->firstFreeGpa % 4096, 0u);
  EXPECT_GT(r->firstFreeGpa, r->startInfoGpa);
  expectStartInfo(mem, *r, b);
}

TEST(PvhBuilder, LoadsElf32) {
  FakePhysMemory mem({{0, 32 * kMiB}}, 0xCC);
  Built b = defaultImage(false);
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  expectLoadedKernel(mem, TestElfBuilder::pvhKernel(false));
  expectStartInfo(mem, *r, b);
}

TEST(PvhBuilder, EverythingPlacedLiesBelowFirstFree) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  Built b = defaultImage();
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk());
  auto si = mem.get<hvm_start_info>(r->startInfoGpa);
  EXPECT_LE(si.cmdline_paddr + b.cmdline.size() + 1, r->firstFreeGpa);
  EXPECT_LE(si.memmap_paddr + sizeof(hvm_memmap_table_entry), r->firstFreeGpa);
  EXPECT_LE(si.modlist_paddr + sizeof(hvm_modlist_entry), r->firstFreeGpa);
  EXPECT_GE(si.cmdline_paddr, r->kernelEnd);
  EXPECT_GE(si.memmap_paddr, r->kernelEnd);
}

TEST(PvhBuilder, NoRamdiskNoModules) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  Built b = defaultImage();
  b.ramdisk.clear();
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->ramdiskGpa, 0u);
  EXPECT_EQ(r->ramdiskSize, 0u);
  auto si = mem.get<hvm_start_info>(r->startInfoGpa);
  EXPECT_EQ(si.nr_modules, 0u);
  EXPECT_EQ(si.modlist_paddr, 0u);
  EXPECT_EQ(r->startInfoGpa, 0x201000u);
}

TEST(PvhBuilder, EmptyCmdlineHasNullPointer) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  Built b = defaultImage();
  b.cmdline.clear();
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(mem.get<hvm_start_info>(r->startInfoGpa).cmdline_paddr, 0u);
}

TEST(PvhBuilder, LongestCmdlineFits) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  Built b = defaultImage();
  b.cmdline = std::string(kMaxPvhCmdline - 1, 'x');
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(readCString(mem, mem.get<hvm_start_info>(r->startInfoGpa).cmdline_paddr), b.cmdline);
}

TEST(PvhBuilder, CopiesMemoryMapWithReservedRanges) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  mem.setMemoryMap({{0, 0x9f000, XEN_HVM_MEMMAP_TYPE_RAM},
                    {0x9f000, 0x61000, XEN_HVM_MEMMAP_TYPE_RESERVED},
                    {0x100000, 31 * kMiB, XEN_HVM_MEMMAP_TYPE_RAM},
                    {0xfee00000, 0x1000, XEN_HVM_MEMMAP_TYPE_RESERVED}});
  Built b = defaultImage();
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  expectStartInfo(mem, *r, b);
}

TEST(PvhBuilder, SkipsReservedHoleAfterKernel) {
  FakePhysMemory mem({{0, 16 * kMiB}});
  mem.setMemoryMap({{0, 0x202000, XEN_HVM_MEMMAP_TYPE_RAM},
                    {0x202000, 0xfe000, XEN_HVM_MEMMAP_TYPE_RESERVED},
                    {0x300000, 13 * kMiB, XEN_HVM_MEMMAP_TYPE_RAM}});
  Built b = defaultImage();  // the 0x2345-byte ramdisk does not fit in [0x201000, 0x202000)
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->ramdiskGpa, 0x300000u);
  EXPECT_GE(r->startInfoGpa, 0x300000u + b.ramdisk.size());
  expectStartInfo(mem, *r, b);
}

TEST(PvhBuilder, SkipsRamTheBackingDoesNotHave) {
  // The map claims RAM the fake cannot map: the builder must not place data there.
  FakePhysMemory mem({{0, 0x202000}, {0x400000, 4 * kMiB}});
  mem.setMemoryMap({{0, 3 * kMiB, XEN_HVM_MEMMAP_TYPE_RAM}, {0x400000, 4 * kMiB, XEN_HVM_MEMMAP_TYPE_RAM}});
  Built b = defaultImage();
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->ramdiskGpa, 0x400000u);
}

TEST(PvhBuilder, BootDataStaysBelow4G) {
  FakePhysMemory mem({{0, 0x210000}, {1ull << 32, 8 * kMiB}});
  Built b = defaultImage();
  b.ramdisk = std::vector<uint8_t>(0x10000, 5);  // fits only in the RAM above 4 GiB
  expectError(buildPvh(mem, b.params()), E2BIG, "ramdisk");
}

TEST(PvhBuilder, RamdiskTooBig) {
  FakePhysMemory mem({{0, 4 * kMiB}});
  Built b = defaultImage();
  b.ramdisk = std::vector<uint8_t>(2 * kMiB, 1);
  expectError(buildPvh(mem, b.params()), E2BIG, "no room for the ramdisk");
}

TEST(PvhBuilder, StartInfoDoesNotFit) {
  FakePhysMemory mem({{0, 0x202000}});
  Built b = defaultImage();
  b.ramdisk = std::vector<uint8_t>(0x1000, 1);  // fills the last page
  expectError(buildPvh(mem, b.params()), E2BIG, "start info");
}

TEST(PvhBuilder, CmdlineTooLong) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  Built b = defaultImage();
  b.cmdline = std::string(kMaxPvhCmdline, 'x');
  expectError(buildPvh(mem, b.params()), E2BIG, "command line");
}

TEST(PvhBuilder, CmdlineWithNul) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  Built b = defaultImage();
  b.cmdline = std::string("a\0b", 3);
  expectError(buildPvh(mem, b.params()), EINVAL, "NUL");
}

TEST(PvhBuilder, RejectsNonElfAndWrongMachine) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  Built b = defaultImage();
  b.kernel = std::vector<uint8_t>(100, 0);
  expectError(buildPvh(mem, b.params()), ENOEXEC, "not an ELF file");
  auto kb = TestElfBuilder::pvhKernel();
  kb.machine = EM_AARCH64;
  b.kernel = kb.build();
  expectError(buildPvh(mem, b.params()), ENOEXEC, "not an x86 ELF executable");
}

TEST(PvhBuilder, RejectsKernelWithoutPvhNote) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  auto kb = TestElfBuilder::pvhKernel();
  kb.notes.pop_back();
  Built b = defaultImage();
  b.kernel = kb.build();
  expectError(buildPvh(mem, b.params()), ENOEXEC,
              "kernel has no XEN_ELFNOTE_PHYS32_ENTRY note: not a PVH kernel");
}

TEST(PvhBuilder, RejectsSegmentOutsideRam) {
  FakePhysMemory mem({{0, 32 * kMiB}}, 0xCC);
  auto kb = TestElfBuilder::pvhKernel();
  kb.segments[1].paddr = 0x4000000;
  Built b = defaultImage();
  b.kernel = kb.build();
  expectError(buildPvh(mem, b.params()), EINVAL, "ELF segment 1 [0x4000000-0x4000100) lies outside guest RAM");
  EXPECT_EQ(mem.get<uint8_t>(0x100000), 0xCC) << "nothing is copied when a segment is refused";
}

TEST(PvhBuilder, RejectsSegmentStraddlingEndOfRam) {
  FakePhysMemory mem({{0, 0x201000}});
  auto kb = TestElfBuilder::pvhKernel();
  kb.segments[1].paddr = 0x200f80;
  Built b = defaultImage();
  b.kernel = kb.build();
  expectError(buildPvh(mem, b.params()), EINVAL, "ELF segment 1 [0x200f80-0x201080) lies outside guest RAM");
}

TEST(PvhBuilder, RejectsSegmentSpanningTwoRegions) {
  FakePhysMemory mem({{0, 0x104000}, {0x104000, 32 * kMiB}});
  Built b = defaultImage();
  expectError(buildPvh(mem, b.params()), EINVAL, "ELF segment 0");
}

TEST(PvhBuilder, RejectsEntryOutsideSegments) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  auto kb = TestElfBuilder::pvhKernel();
  kb.notes.back().desc = TestElfBuilder::le32(0x105000);  // just past segment 0's p_memsz
  Built b = defaultImage();
  b.kernel = kb.build();
  expectError(buildPvh(mem, b.params()), EINVAL, "entry point 0x105000");
}

TEST(PvhBuilder, EntryInBssIsAccepted) {
  FakePhysMemory mem({{0, 32 * kMiB}});
  auto kb = TestElfBuilder::pvhKernel();
  kb.notes.back().desc = TestElfBuilder::le32(0x104fff);
  Built b = defaultImage();
  b.kernel = kb.build();
  auto r = buildPvh(mem, b.params());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->entry, 0x104fffu);
}

TEST(PvhBuilder, KernelAbove4GLeavesNoRoomForBootData) {
  FakePhysMemory mem({{0, kMiB}, {1ull << 32, 4 * kMiB}});
  auto kb = TestElfBuilder::pvhKernel();
  kb.segments = {{(1ull << 32) + 0x1000, TestElfBuilder::pattern(0x100, 3), 0x100},
                 {0x10000, TestElfBuilder::pattern(0x100, 3), 0x100}};
  kb.notes.back().desc = TestElfBuilder::le32(0x10000);
  Built b = defaultImage();
  b.kernel = kb.build();
  expectError(buildPvh(mem, b.params()), E2BIG, "no room");
}

}  // namespace
}  // namespace smartvm::hv
