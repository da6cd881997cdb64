// BootAllocator: placement inside mappable RAM entries, alignment, limit.
#include "smartvm/hv/builder/BootAllocator.h"

#include <gtest/gtest.h>

#include "FakePhysMemory.h"

namespace smartvm::hv {
namespace {

using test::FakePhysMemory;

TEST(BootAllocator, BumpsUpwardWithAlignment) {
  FakePhysMemory mem({{0, 0x100000}});
  BootAllocator a(mem, 0x1001, 1ull << 32);
  auto x = a.allocate(10, 8, "x");
  ASSERT_TRUE(x.isOk());
  EXPECT_EQ(*x, 0x1008u);
  auto y = a.allocate(1, 4096, "y");
  ASSERT_TRUE(y.isOk());
  EXPECT_EQ(*y, 0x2000u);
  EXPECT_EQ(a.cursor(), 0x2001u);
}

TEST(BootAllocator, UsesOnlyRamEntries) {
  FakePhysMemory mem({{0, 0x100000}});
  mem.setMemoryMap({{0, 0x10000, XEN_HVM_MEMMAP_TYPE_RESERVED}, {0x10000, 0x1000, XEN_HVM_MEMMAP_TYPE_ACPI},
                    {0x20000, 0x10000, XEN_HVM_MEMMAP_TYPE_RAM}});
  BootAllocator a(mem, 0, 1ull << 32);
  auto x = a.allocate(0x100, 8, "x");
  ASSERT_TRUE(x.isOk());
  EXPECT_EQ(*x, 0x20000u);
}

TEST(BootAllocator, ToleratesUnsortedMap) {
  FakePhysMemory mem({{0, 0x100000}});
  mem.setMemoryMap({{0x80000, 0x10000, XEN_HVM_MEMMAP_TYPE_RAM}, {0x20000, 0x10000, XEN_HVM_MEMMAP_TYPE_RAM}});
  BootAllocator a(mem, 0, 1ull << 32);
  EXPECT_EQ(*a.allocate(0x100, 8, "x"), 0x20000u);
}

TEST(BootAllocator, RespectsLimitAndReportsE2big) {
  FakePhysMemory mem({{0, 0x100000}});
  BootAllocator a(mem, 0xff000, 0xff800);
  EXPECT_TRUE(a.allocate(0x800, 1, "fits").isOk());
  auto r = a.allocate(1, 1, "thing");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), E2BIG);
  EXPECT_NE(r.status().message().find("thing"), std::string::npos);
}

TEST(BootAllocator, SurvivesHugeEntriesAndSizes) {
  FakePhysMemory mem({{0, 0x100000}});
  mem.setMemoryMap({{0xfffffffffffff000ull, 0x10000, XEN_HVM_MEMMAP_TYPE_RAM},
                    {0, 0x100000, XEN_HVM_MEMMAP_TYPE_RAM}});
  BootAllocator a(mem, 0, UINT64_MAX);
  EXPECT_FALSE(a.allocate(UINT64_MAX, 4096, "huge").isOk());
  BootAllocator b(mem, UINT64_MAX - 5, UINT64_MAX);
  EXPECT_FALSE(b.allocate(1, 4096, "top").isOk());
}

}  // namespace
}  // namespace smartvm::hv
