// GuestPageWalker: translations in every paging mode and every kind of fault.
#include "smartvm/hv/memory/GuestPageWalker.h"

#include <gtest/gtest.h>

#include "FakePhysMemory.h"
#include "TestPageTables.h"

namespace smartvm::hv {
namespace {

using namespace test;
using namespace paging;

constexpr uint64_t kRam = 20ull << 20;
constexpr uint64_t kPool = 0x1000000;  // page tables live from 16 MiB up

void expectFault(const Result<uint64_t>& r, const std::string& fragment, uint64_t gva) {
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), EFAULT);
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  char hex[32];
  std::snprintf(hex, sizeof hex, "%#llx", static_cast<unsigned long long>(gva));
  EXPECT_NE(r.status().message().find(hex), std::string::npos) << r.status().message();
}

uint64_t ok(const Result<uint64_t>& r) {
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : ~0ull;
}

struct Walker : ::testing::Test {
  FakePhysMemory mem{{{0, kRam}}};
};

TEST_F(Walker, PagingOffIsIdentityTruncatedTo32Bits) {
  PagingState ps{0x11, 0, 0, 0};
  EXPECT_EQ(ok(translate(mem, ps, 0x123456, Access::Write)), 0x123456u);
  EXPECT_EQ(ok(translate(mem, ps, 0x1'0000'1234ull, Access::Read)), 0x1234u);
  EXPECT_EQ(ok(translate(mem, ps, 0xffff'ffffull, Access::Read)), 0xffff'ffffu) << "no RAM check on the result";
}

TEST_F(Walker, TwoLevel4K) {
  TestPageTables pt(mem, PagingMode::Bits32, kPool);
  pt.map(0xc0105000, 0x123000);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0xc0105abc, Access::Write)), 0x123abcu);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x1'c010'5abcull, Access::Read)), 0x123abcu) << "32-bit linear";
  expectFault(translate(mem, pt.state(), 0xc0106000, Access::Read), "PTE not present", 0xc0106000);
  expectFault(translate(mem, pt.state(), 0x00400000, Access::Read), "PDE not present", 0x00400000);
}

TEST_F(Walker, TwoLevelPse4M) {
  TestPageTables pt(mem, PagingMode::Bits32, kPool);
  pt.map(0x80000000, 0x800000, k4M);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x80312345, Access::Read)), 0xb12345u);
  pt.map(0x80400000, 0x3'0040'0000ull, k4M);  // PSE-36: bits 39:32 from PDE bits 20:13
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x80400010, Access::Read)), 0x3'0040'0010ull);
}

TEST_F(Walker, TwoLevelPsBitIgnoredWithoutCr4Pse) {
  TestPageTables pt(mem, PagingMode::Bits32, kPool);
  pt.map(0x00401000, 0x555000);
  pt.patch(0x00401000, 2, kPS);
  PagingState ps = pt.state();
  ps.cr4 &= ~kCr4Pse;
  EXPECT_EQ(ok(translate(mem, ps, 0x00401008, Access::Read)), 0x555008u);
  // With PSE the same PDE is a 4 MiB page at the page table's 4 MiB frame.
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x00401008, Access::Read)), (pt.read(pt.entryGpa(0x00401000, 2)) & 0xffc00000) + 0x1008);
}

TEST_F(Walker, TwoLevel4MReservedBit21) {
  TestPageTables pt(mem, PagingMode::Bits32, kPool);
  pt.map(0x80000000, 0x800000, k4M);
  pt.patch(0x80000000, 2, 1u << 21);
  expectFault(translate(mem, pt.state(), 0x80000000, Access::Read), "PDE has reserved bits", 0x80000000);
}

TEST_F(Walker, Pae4KAnd2M) {
  TestPageTables pt(mem, PagingMode::Pae, kPool);
  pt.map(0xc0001000, 0x7000);
  pt.map(0x40200000, 0x600000, k2M);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0xc0001fff, Access::Write)), 0x7fffu);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x402abcde, Access::Write)), 0x6abcdeu);
  expectFault(translate(mem, pt.state(), 0x00001000, Access::Read), "PDPTE not present", 0x1000);
  expectFault(translate(mem, pt.state(), 0xc0201000, Access::Read), "PDE not present", 0xc0201000);
  expectFault(translate(mem, pt.state(), 0xc0002000, Access::Read), "PTE not present", 0xc0002000);
}

TEST_F(Walker, PaePdpteReservedBits) {
  TestPageTables pt(mem, PagingMode::Pae, kPool);
  pt.map(0xc0001000, 0x7000);
  pt.patch(0xc0001000, 3, kRW);  // R/W is reserved in a PAE PDPTE
  expectFault(translate(mem, pt.state(), 0xc0001000, Access::Read), "PDPTE has reserved bits 0x2", 0xc0001000);
}

TEST_F(Walker, PaeNxBitNeedsEferNxe) {
  TestPageTables pt(mem, PagingMode::Pae, kPool);
  pt.map(0xc0001000, 0x7000, k4K, kP | kRW | (1ull << 63));
  expectFault(translate(mem, pt.state(), 0xc0001000, Access::Read), "reserved bits", 0xc0001000);
  PagingState ps = pt.state();
  ps.efer |= kEferNxe;
  EXPECT_EQ(ok(translate(mem, ps, 0xc0001000, Access::Read)), 0x7000u);
}

TEST_F(Walker, PaeHighBitsReserved) {
  TestPageTables pt(mem, PagingMode::Pae, kPool);
  pt.map(0xc0001000, 0x7000, k4K, kP | kRW | (1ull << 55));
  expectFault(translate(mem, pt.state(), 0xc0001000, Access::Read), "PTE has reserved bits", 0xc0001000);
}

TEST_F(Walker, Long4AllPageSizes) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.map(0xffffffff81000000ull, 0x200000, k2M);
  pt.map(0xffff888000000000ull, 0x40000000, k1G);
  pt.map(0x00007fffdead0000ull, 0x99000);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0xffffffff81012345ull, Access::Write)), 0x212345u);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0xffff888012345678ull, Access::Write)), 0x52345678u);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x00007fffdead0ff8ull, Access::Write)), 0x99ff8u);
}

TEST_F(Walker, Long4NotPresentAtEachLevel) {
  const uint64_t gva = 0xffffffff81234000ull;
  const char* names[] = {"", "PTE", "PDE", "PDPTE", "PML4E"};
  for (int level = 1; level <= 4; ++level) {
    FakePhysMemory m({{0, kRam}});
    TestPageTables pt(m, PagingMode::Long4, kPool);
    pt.map(gva, 0x5000);
    ASSERT_TRUE(translate(m, pt.state(), gva, Access::Read).isOk());
    pt.patch(gva, level, 0, kP);
    expectFault(translate(m, pt.state(), gva + 8, Access::Read), std::string(names[level]) + " not present", gva + 8);
  }
}

TEST_F(Walker, WriteToReadOnlyHonoursCr0Wp) {
  const uint64_t gva = 0xffffffff81234000ull;
  for (int level = 1; level <= 4; ++level) {
    FakePhysMemory m({{0, kRam}});
    TestPageTables pt(m, PagingMode::Long4, kPool);
    pt.map(gva, 0x5000);
    pt.patch(gva, level, 0, kRW);
    EXPECT_EQ(ok(translate(m, pt.state(true), gva, Access::Read)), 0x5000u);
    expectFault(translate(m, pt.state(true), gva, Access::Write), "read-only", gva);
    EXPECT_EQ(ok(translate(m, pt.state(false), gva, Access::Write)), 0x5000u) << "level " << level;
  }
}

TEST_F(Walker, WriteToReadOnlyInOtherModes) {
  TestPageTables pae(mem, PagingMode::Pae, kPool);
  pae.map(0xc0001000, 0x7000, k4K, kP);
  expectFault(translate(mem, pae.state(true), 0xc0001000, Access::Write), "PTE is read-only", 0xc0001000);
  EXPECT_TRUE(translate(mem, pae.state(false), 0xc0001000, Access::Write).isOk());
  FakePhysMemory m2({{0, kRam}});
  TestPageTables b32(m2, PagingMode::Bits32, kPool);
  b32.map(0x80000000, 0x800000, k4M, kP);
  expectFault(translate(m2, b32.state(true), 0x80000000, Access::Write), "PDE is read-only", 0x80000000);
  EXPECT_TRUE(translate(m2, b32.state(false), 0x80000000, Access::Write).isOk());
}

TEST_F(Walker, Long4NonCanonical) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  for (uint64_t gva : {0x0000800000000000ull, 0xffff7fffffffffffull, 0x8000000000000000ull}) {
    expectFault(translate(mem, pt.state(), gva, Access::Read), "non-canonical", gva);
  }
}

TEST_F(Walker, Long5Level) {
  TestPageTables pt(mem, PagingMode::Long5, kPool);
  const uint64_t gva = 0x00ff123456789000ull;  // needs more than 48 bits
  pt.map(gva, 0x321000);
  pt.map(0xff00000000001000ull, 0x322000);
  EXPECT_EQ(ok(translate(mem, pt.state(), gva + 0x10, Access::Write)), 0x321010u);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0xff00000000001010ull, Access::Read)), 0x322010u);
  expectFault(translate(mem, pt.state(), 0x0100000000000000ull, Access::Read), "non-canonical", 0x0100000000000000ull);
  pt.patch(gva, 5, 0, kP);
  expectFault(translate(mem, pt.state(), gva, Access::Read), "PML5E not present", gva);
  PagingState four = pt.state();
  four.cr4 &= ~kCr4La57;
  expectFault(translate(mem, four, gva, Access::Read), "non-canonical", gva);
}

TEST_F(Walker, PsBitReservedInPml4eAndPml5e) {
  TestPageTables pt(mem, PagingMode::Long5, kPool);
  pt.map(0x1000, 0x2000);
  pt.patch(0x1000, 4, kPS);
  expectFault(translate(mem, pt.state(), 0x1000, Access::Read), "PML4E has reserved bits 0x80", 0x1000);
  pt.patch(0x1000, 4, 0, kPS);
  pt.patch(0x1000, 5, kPS);
  expectFault(translate(mem, pt.state(), 0x1000, Access::Read), "PML5E has reserved bits 0x80", 0x1000);
}

TEST_F(Walker, LargePageReservedBits) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.map(0x40000000, 0x40000000, k1G);
  pt.map(0x200000, 0x200000, k2M);
  pt.patch(0x40000000, 3, 1u << 20);
  expectFault(translate(mem, pt.state(), 0x40000000, Access::Read), "PDPTE has reserved bits", 0x40000000);
  pt.patch(0x200000, 2, 1u << 13);
  expectFault(translate(mem, pt.state(), 0x200000, Access::Read), "PDE has reserved bits", 0x200000);
}

TEST_F(Walker, NxAndIgnoredHighBitsInLongMode) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.map(0x1000, 0x2000, k4K, kP | kRW | (1ull << 63) | (1ull << 60));
  expectFault(translate(mem, pt.state(), 0x1000, Access::Read), "PTE has reserved bits 0x8000000000000000", 0x1000);
  PagingState ps = pt.state();
  ps.efer |= kEferNxe;
  EXPECT_EQ(ok(translate(mem, ps, 0x1000, Access::Read)), 0x2000u) << "bits 62:52 are ignored in long mode";
}

TEST_F(Walker, PageTablesOutsideRam) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.map(0x1000, 0x2000);
  PagingState ps = pt.state();
  ps.cr3 = kRam + 0x1000;
  expectFault(translate(mem, ps, 0x1000, Access::Read), "PML4E at gpa 0x1401000 is outside guest RAM", 0x1000);
  pt.patch(0x1000, 2, 0x7000000000ull);  // PDE points to a page table far beyond RAM
  expectFault(translate(mem, pt.state(), 0x1000, Access::Read), "PTE at gpa", 0x1000);
  TestPageTables b32(mem, PagingMode::Bits32, kPool + 0x100000);
  PagingState ps32 = b32.state();
  ps32.cr3 = 0xfffff000;
  expectFault(translate(mem, ps32, 0x1000, Access::Read), "outside guest RAM", 0x1000);
}

TEST_F(Walker, LeafOutsideRamIsReturnedNotChecked) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.map(0x1000, 0x7'0000'0000ull);
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x1234, Access::Read)), 0x7'0000'0234ull);
}

TEST_F(Walker, SelfReferencingTablesTerminate) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.write(pt.root(), pt.root() | kP | kRW);  // PML4[0] -> PML4 (recursive mapping)
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x0, Access::Write)), pt.root());
  EXPECT_EQ(ok(translate(mem, pt.state(), 0x8, Access::Read)), pt.root() + 8);
  expectFault(translate(mem, pt.state(), 0x1000, Access::Read), "PTE not present", 0x1000);

  FakePhysMemory m5({{0, kRam}});
  TestPageTables p5(m5, PagingMode::Long5, kPool);
  p5.write(p5.root(), p5.root() | kP | kRW);
  EXPECT_EQ(ok(translate(m5, p5.state(), 0x10, Access::Read)), p5.root() + 0x10);

  FakePhysMemory m32({{0, kRam}});
  TestPageTables p32(m32, PagingMode::Bits32, kPool);
  p32.write(p32.root(), p32.root() | kP | kRW);
  EXPECT_EQ(ok(translate(m32, p32.state(), 0x4, Access::Read)), p32.root() + 4);
}

TEST_F(Walker, LongModeWithoutPaeIsRefused) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  PagingState ps = pt.state();
  ps.cr4 &= ~kCr4Pae;
  expectFault(translate(mem, ps, 0x1000, Access::Read), "inconsistent paging state", 0x1000);
}

TEST_F(Walker, EferLmeAloneSelectsLongMode) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.map(0xffffffff80001000ull, 0x3000);
  PagingState ps = pt.state();
  ps.efer = kEferLme;
  EXPECT_EQ(ok(translate(mem, ps, 0xffffffff80001000ull, Access::Read)), 0x3000u);
}

TEST_F(Walker, ClassFormMatchesFreeFunction) {
  TestPageTables pt(mem, PagingMode::Long4, kPool);
  pt.map(0x5000, 0x6000);
  GuestPageWalker w(mem, pt.state());
  EXPECT_EQ(ok(w.translate(0x5010, Access::Write)), 0x6010u);
}

}  // namespace
}  // namespace smartvm::hv
