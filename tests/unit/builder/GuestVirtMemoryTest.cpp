// GuestVirtMemory: page-split copies, no partial writes, strings, limits.
#include "smartvm/hv/memory/GuestVirtMemory.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>

#include "FakePhysMemory.h"
#include "TestPageTables.h"

namespace smartvm::hv {
namespace {

using namespace test;

constexpr uint64_t kRam = 32ull << 20;
constexpr uint64_t kPool = 0x1000000;
// Two virtually contiguous pages backed by physically distant frames, then a hole.
constexpr uint64_t kVa = 0xffffc90000010000ull;
constexpr uint64_t kFrameA = 0x300000, kFrameB = 0x100000;

struct VirtMem : ::testing::Test {
  FakePhysMemory mem{{{0, kRam}}, 0xEE};
  TestPageTables pt{mem, PagingMode::Long4, kPool};

  void SetUp() override {
    pt.map(kVa, kFrameA);
    pt.map(kVa + 0x1000, kFrameB);
  }
  GuestVirtMemory vm(bool wp = true) { return GuestVirtMemory(mem, pt.state(wp)); }
};

void expectCode(const Status& s, int code, const std::string& fragment = "") {
  EXPECT_EQ(s.code(), code) << s.toString();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST_F(VirtMem, ReadWriteWithinOnePage) {
  auto v = vm();
  const std::array<uint8_t, 4> in{1, 2, 3, 4};
  ASSERT_TRUE(v.write(kVa + 0x10, in.data(), in.size()).isOk());
  EXPECT_EQ(mem.bytes(kFrameA + 0x10, 4), std::vector<uint8_t>(in.begin(), in.end()));
  std::array<uint8_t, 4> out{};
  ASSERT_TRUE(v.read(kVa + 0x10, out.data(), out.size()).isOk());
  EXPECT_EQ(out, in);
}

TEST_F(VirtMem, CopiesSplitAtPageBoundary) {
  auto v = vm();
  std::vector<uint8_t> in(0x20);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i + 1);
  ASSERT_TRUE(v.write(kVa + 0xff0, in.data(), in.size()).isOk());
  EXPECT_EQ(mem.bytes(kFrameA + 0xff0, 0x10), std::vector<uint8_t>(in.begin(), in.begin() + 0x10));
  EXPECT_EQ(mem.bytes(kFrameB, 0x10), std::vector<uint8_t>(in.begin() + 0x10, in.end()));
  std::vector<uint8_t> out(in.size());
  ASSERT_TRUE(v.read(kVa + 0xff0, out.data(), out.size()).isOk());
  EXPECT_EQ(out, in);
}

TEST_F(VirtMem, WholeTwoPages) {
  auto v = vm();
  std::vector<uint8_t> in(0x2000, 0x5a);
  ASSERT_TRUE(v.write(kVa, in.data(), in.size()).isOk());
  std::vector<uint8_t> out(0x2000);
  ASSERT_TRUE(v.read(kVa, out.data(), out.size()).isOk());
  EXPECT_EQ(out, in);
}

TEST_F(VirtMem, CrossPageReadIntoUnmappedPageFails) {
  auto v = vm();
  std::vector<uint8_t> out(0x20);
  expectCode(v.read(kVa + 0x1ff0, out.data(), out.size()), EFAULT, "0xffffc90000012000");
}

TEST_F(VirtMem, CrossPageWriteIntoUnmappedPageChangesNothing) {
  auto v = vm();
  const auto before = mem.bytes(kFrameB, 0x1000);
  std::vector<uint8_t> in(0x20, 0x11);
  expectCode(v.write(kVa + 0x1ff0, in.data(), in.size()), EFAULT, "not present");
  EXPECT_EQ(mem.bytes(kFrameB, 0x1000), before);
}

TEST_F(VirtMem, WriteToReadOnlySecondPageChangesNothing) {
  pt.patch(kVa + 0x1000, 1, 0, kRW);
  std::vector<uint8_t> in(0x20, 0x11);
  const auto before = mem.bytes(kFrameA + 0xff0, 0x10);
  expectCode(vm(true).write(kVa + 0xff0, in.data(), in.size()), EFAULT, "read-only");
  EXPECT_EQ(mem.bytes(kFrameA + 0xff0, 0x10), before);
  ASSERT_TRUE(vm(false).write(kVa + 0xff0, in.data(), in.size()).isOk()) << "CR0.WP=0 allows supervisor writes";
  EXPECT_EQ(mem.get<uint8_t>(kFrameB + 0xf), 0x11);
  std::vector<uint8_t> out(0x20);
  EXPECT_TRUE(vm(true).read(kVa + 0xff0, out.data(), out.size()).isOk());
}

TEST_F(VirtMem, LeafOutsideRamFaults) {
  pt.map(kVa + 0x3000, kRam + 0x5000);
  uint32_t x = 0;
  expectCode(vm().readObj(kVa + 0x3000, x), EFAULT, "outside guest RAM");
}

TEST_F(VirtMem, ObjectsRoundTrip) {
  struct Args {
    uint64_t a;
    uint32_t b;
    uint16_t c;
  } in{0x1122334455667788ull, 0x99aabbcc, 0xddee}, out{};
  auto v = vm();
  ASSERT_TRUE(v.writeObj(kVa + 0xffc, in).isOk());  // straddles the two frames
  ASSERT_TRUE(v.readObj(kVa + 0xffc, out).isOk());
  EXPECT_EQ(out.a, in.a);
  EXPECT_EQ(out.b, in.b);
  EXPECT_EQ(out.c, in.c);
  EXPECT_EQ(mem.get<uint32_t>(kFrameA + 0xffc), 0x55667788u);
}

TEST_F(VirtMem, ZeroLengthIsOk) {
  auto v = vm();
  EXPECT_TRUE(v.read(0x8000000000000000ull, nullptr, 0).isOk());
  EXPECT_TRUE(v.write(kVa, nullptr, 0).isOk());
}

TEST_F(VirtMem, HugeLengthsFailFast) {
  auto v = vm();
  uint8_t buf[16] = {};
  const auto start = std::chrono::steady_clock::now();
  expectCode(v.read(kVa, buf, size_t{1} << 63), E2BIG, "exceeds");
  expectCode(v.write(kVa, buf, SIZE_MAX), E2BIG, "exceeds");
  expectCode(v.read(kVa, buf, GuestVirtMemory::kMaxAccess + 1), E2BIG);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(VirtMem, MaxLengthIsAttempted) {
  auto v = vm();
  std::vector<uint8_t> buf(GuestVirtMemory::kMaxAccess);
  expectCode(v.read(kVa, buf.data(), buf.size()), EFAULT, "not present");
}

TEST_F(VirtMem, WrapAroundFaults) {
  uint8_t buf[0x20] = {};
  expectCode(vm().read(0xfffffffffffffff0ull, buf, sizeof buf), EFAULT, "wraps");
}

TEST_F(VirtMem, PagingOffUsesPhysicalAddresses) {
  GuestVirtMemory v(mem, PagingState{0x11, 0, 0, 0});
  const uint32_t x = 0xfeedf00d;
  ASSERT_TRUE(v.writeObj(0x5000, x).isOk());
  EXPECT_EQ(mem.get<uint32_t>(0x5000), x);
  uint32_t y = 0;
  expectCode(v.readObj(kRam - 2, y), EFAULT, "outside guest RAM");
}

TEST_F(VirtMem, ReadStringSimpleAndAcrossPages) {
  auto v = vm();
  const char text[] = "hello, xen";
  ASSERT_TRUE(v.write(kVa + 0xffa, text, sizeof text).isOk());
  auto s = v.readString(kVa + 0xffa, 64);
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(*s, "hello, xen");
  auto empty = v.readString(kVa + 0xffa + 10, 1);
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(*empty, "");
}

TEST_F(VirtMem, ReadStringStopsAtNulBeforeUnmappedPage) {
  auto v = vm();
  std::vector<uint8_t> fill(0x1000, 'a');
  fill.back() = 0;  // the NUL is the last byte of the mapped range
  ASSERT_TRUE(v.write(kVa + 0x1000, fill.data(), fill.size()).isOk());
  auto s = v.readString(kVa + 0x1000, 1 << 20);
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->size(), 0xfffu);
}

TEST_F(VirtMem, ReadStringWithoutNulHitsUnmappedPage) {
  auto v = vm();
  std::vector<uint8_t> fill(0x10, 'a');
  ASSERT_TRUE(v.write(kVa + 0x1ff0, fill.data(), fill.size()).isOk());
  expectCode(v.readString(kVa + 0x1ff0, 0x100).status(), EFAULT, "0xffffc90000012000");
}

TEST_F(VirtMem, ReadStringLimit) {
  auto v = vm();
  const char text[] = "abcdef";
  ASSERT_TRUE(v.write(kVa, text, sizeof text).isOk());
  EXPECT_TRUE(v.readString(kVa, 7).isOk());
  expectCode(v.readString(kVa, 6).status(), E2BIG, "no NUL within 6 bytes");
  expectCode(v.readString(kVa, 0).status(), EINVAL);
  auto huge = v.readString(kVa, SIZE_MAX);
  ASSERT_TRUE(huge.isOk());
  EXPECT_EQ(*huge, "abcdef");
}

TEST_F(VirtMem, ReadStringOnUnmappedAddress) {
  expectCode(vm().readString(0x1000, 16).status(), EFAULT, "gva 0x1000");
  expectCode(vm().readString(0x0000800000000000ull, 16).status(), EFAULT, "non-canonical");
}

}  // namespace
}  // namespace smartvm::hv
