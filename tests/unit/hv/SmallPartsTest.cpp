// XenCpuid, the hypercall page, the device bus and the console buffer.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <xen/arch-x86/cpuid.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

#include "FakeBackend.h"
#include "smartvm/hv/ConsoleBuffer.h"
#include "smartvm/hv/HypercallPage.h"
#include "smartvm/hv/XenCpuid.h"
#include "smartvm/hv/devices/Bus.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;

const kvm_cpuid_entry2* findLeaf(const std::vector<kvm_cpuid_entry2>& t, uint32_t fn, uint32_t index = 0) {
  for (const auto& e : t) {
    if (e.function == fn && e.index == index) return &e;
  }
  return nullptr;
}

size_t countLeaf(const std::vector<kvm_cpuid_entry2>& t, uint32_t fn) {
  return static_cast<size_t>(std::count_if(t.begin(), t.end(), [&](const auto& e) { return e.function == fn; }));
}

// ---- XenCpuid ----

TEST(XenCpuid, DropsKvmLeavesAndKeepsOthers) {
  const auto host = test::fakeHostCpuid();
  const auto t = buildXenCpuid(host, {0, 1});
  EXPECT_EQ(countLeaf(t, 0x40000000), 1u);  // only Xen's replacement
  const auto* base = findLeaf(t, 0x40000000);
  ASSERT_NE(base, nullptr);
  EXPECT_NE(base->ebx, 0x4b4d564bu) << "KVM signature must be gone";
  EXPECT_EQ(countLeaf(t, 0x40000001), 1u);
  EXPECT_EQ(findLeaf(t, 0x40000001)->eax, 0x40011u) << "KVM's feature leaf replaced by Xen's version leaf";
  ASSERT_NE(findLeaf(t, 0), nullptr);
  EXPECT_EQ(findLeaf(t, 0)->ebx, 0x756e6547u);
  ASSERT_NE(findLeaf(t, 0x80000000), nullptr);
  EXPECT_EQ(findLeaf(t, 0x80000000)->eax, 0x80000008u);
  // 3 non-hypervisor host leaves + base, +1, +2, three +3 subleaves, +4.
  EXPECT_EQ(t.size(), 3u + 7u);
}

TEST(XenCpuid, SignatureAndVersionLeaves) {
  const auto t = buildXenCpuid(test::fakeHostCpuid(), {0, 1});
  const auto* base = findLeaf(t, 0x40000000);
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(base->eax, 0x40000004u);
  char sig[13] = {};
  std::memcpy(sig, &base->ebx, 4);
  std::memcpy(sig + 4, &base->ecx, 4);
  std::memcpy(sig + 8, &base->edx, 4);
  EXPECT_STREQ(sig, "XenVMMXenVMM");
  EXPECT_EQ(base->ebx, XEN_CPUID_SIGNATURE_EBX);
  EXPECT_EQ(findLeaf(t, 0x40000001)->eax, (4u << 16) | 17u);
  EXPECT_EQ(findLeaf(t, 0x40000001)->eax, 0x40011u);
  const auto* msr = findLeaf(t, 0x40000002);
  ASSERT_NE(msr, nullptr);
  EXPECT_EQ(msr->eax, 1u);
  EXPECT_EQ(msr->ebx, 0x40000000u);
  EXPECT_EQ(msr->ecx, 0u);
  EXPECT_EQ(msr->edx, 0u);
  for (uint32_t sub = 0; sub < 3; ++sub) {
    const auto* time = findLeaf(t, 0x40000003, sub);
    ASSERT_NE(time, nullptr) << sub;
    EXPECT_EQ(time->flags, static_cast<uint32_t>(KVM_CPUID_FLAG_SIGNIFCANT_INDEX));
    EXPECT_EQ(time->eax | time->ebx | time->ecx | time->edx, 0u);
  }
}

TEST(XenCpuid, HvmLeafCarriesVcpuIdAndDomid) {
  const auto t = buildXenCpuid(test::fakeHostCpuid(), {3, 42});
  const auto* hvm = findLeaf(t, 0x40000004);
  ASSERT_NE(hvm, nullptr);
  EXPECT_EQ(hvm->eax, static_cast<uint32_t>(XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT |
                                            XEN_HVM_CPUID_UPCALL_VECTOR));
  EXPECT_EQ(hvm->ebx, 3u);
  EXPECT_EQ(hvm->ecx, 42u);
}

TEST(XenCpuid, Leaf1HasHypervisorBitAndApicId) {
  const auto t = buildXenCpuid(test::fakeHostCpuid(), {5, 1});
  const auto* l1 = findLeaf(t, 1);
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->ecx, 0x7ffafbffu | 0x80000000u);
  EXPECT_EQ(l1->ebx >> 24, 5u);
  EXPECT_EQ(l1->ebx & 0x00ffffffu, 0x010800u) << "low bits of the host's ebx kept";
  EXPECT_EQ(l1->eax, 0x000906eau);
  EXPECT_EQ(l1->edx, 0xbfebfbffu);
}

// ---- Hypercall page ----

TEST(HypercallPage, StubsAndPadding) {
  std::array<uint8_t, 4096> page;
  page.fill(0x00);
  fillHypercallPage(page.data());
  for (unsigned i = 0; i < 128; ++i) {
    const uint8_t* s = page.data() + 32 * i;
    const std::array<uint8_t, 8> want = {0xb8, uint8_t(i), 0, 0, 0, 0xe7, 0xe4, 0xc3};
    EXPECT_EQ(std::memcmp(s, want.data(), 8), 0) << "stub " << i;
    for (unsigned k = 8; k < 32; ++k) ASSERT_EQ(s[k], 0xcc) << "stub " << i << " byte " << k;
  }
  // console_io (18) spelled out.
  EXPECT_EQ(page[18 * 32 + 0], 0xb8);
  EXPECT_EQ(page[18 * 32 + 1], 18);
  EXPECT_EQ(page[18 * 32 + 5], 0xe7);
}

// ---- Bus ----

class NamedDevice : public BusDevice {
 public:
  explicit NamedDevice(std::string n) : name_(std::move(n)) {}
  void read(uint64_t, uint8_t* data, uint32_t size) override { std::memset(data, 0x5a, size); }
  void write(uint64_t offset, const uint8_t*, uint32_t) override { lastWrite = offset; }
  std::string name() const override { return name_; }
  uint64_t lastWrite = ~0ull;

 private:
  std::string name_;
};

TEST(Bus, RefusesOverlapsWithEexist) {
  Bus bus;
  auto a = std::make_shared<NamedDevice>("a");
  ASSERT_TRUE(bus.insert(a, 0x100, 0x10).isOk());
  const std::vector<std::pair<uint64_t, uint64_t>> overlapping = {
      {0x100, 0x10}, {0xf8, 0x10}, {0x10f, 1}, {0x104, 2}, {0x0, 0x1000}};
  for (auto [base, len] : overlapping) {
    Status s = bus.insert(std::make_shared<NamedDevice>("b"), base, len);
    EXPECT_EQ(s.code(), EEXIST) << std::hex << base << "+" << len;
    EXPECT_NE(s.message().find("overlaps a"), std::string::npos) << s.message();
  }
}

TEST(Bus, AdjacentRangesAndEmptyOrWrapping) {
  Bus bus;
  auto a = std::make_shared<NamedDevice>("a");
  auto below = std::make_shared<NamedDevice>("below");
  auto above = std::make_shared<NamedDevice>("above");
  ASSERT_TRUE(bus.insert(a, 0x100, 0x10).isOk());
  EXPECT_TRUE(bus.insert(below, 0xf0, 0x10).isOk());
  EXPECT_TRUE(bus.insert(above, 0x110, 0x8).isOk());
  EXPECT_EQ(bus.insert(std::make_shared<NamedDevice>("e"), 0x500, 0).code(), EINVAL);
  EXPECT_EQ(bus.insert(std::make_shared<NamedDevice>("w"), ~0ull - 1, 4).code(), EINVAL);
}

TEST(Bus, FindGivesDeviceAndOffset) {
  Bus bus;
  auto a = std::make_shared<NamedDevice>("a");
  auto b = std::make_shared<NamedDevice>("b");
  ASSERT_TRUE(bus.insert(a, 0x100, 0x10).isOk());
  ASSERT_TRUE(bus.insert(b, 0x110, 0x4).isOk());
  EXPECT_EQ(bus.find(0x100).device, a.get());
  EXPECT_EQ(bus.find(0x100).offset, 0u);
  EXPECT_EQ(bus.find(0x10f).device, a.get());
  EXPECT_EQ(bus.find(0x10f).offset, 0xfu);
  EXPECT_EQ(bus.find(0x110).device, b.get());
  EXPECT_EQ(bus.find(0x113).offset, 3u);
  EXPECT_EQ(bus.find(0x114).device, nullptr);
  EXPECT_EQ(bus.find(0xff).device, nullptr);
  EXPECT_EQ(bus.find(0).device, nullptr);
  EXPECT_EQ(Bus{}.find(0x100).device, nullptr);
}

// ---- ConsoleBuffer ----

TEST(ConsoleBuffer, OffsetsAndPartialReads) {
  ConsoleBuffer c;
  c.append("hello ", 6);
  c.append("world", 5);
  EXPECT_EQ(c.endOffset(), 11u);
  auto all = c.read(0, 100, 0ms);
  EXPECT_EQ(all.data, "hello world");
  EXPECT_EQ(all.nextOffset, 11u);
  EXPECT_EQ(all.firstOffset, 0u);
  EXPECT_FALSE(all.closed);
  auto mid = c.read(6, 3, 0ms);
  EXPECT_EQ(mid.data, "wor");
  EXPECT_EQ(mid.nextOffset, 9u);
  auto past = c.read(50, 10, 0ms);
  EXPECT_EQ(past.data, "");
  EXPECT_EQ(past.nextOffset, 11u) << "offsets past the end clamp to the end";
  EXPECT_EQ(c.snapshot(), "hello world");
}

TEST(ConsoleBuffer, TrimsOldestPastLimit) {
  ConsoleBuffer c(8);
  c.append("0123456789", 10);
  EXPECT_EQ(c.endOffset(), 10u);
  EXPECT_EQ(c.snapshot(), "23456789");
  auto r = c.read(0, 100, 0ms);
  EXPECT_EQ(r.firstOffset, 2u);
  EXPECT_EQ(r.data, "23456789") << "an offset before the first held byte clamps to it";
  EXPECT_EQ(r.nextOffset, 10u);
  c.append("abc", 3);
  auto r2 = c.read(10, 100, 0ms);
  EXPECT_EQ(r2.data, "abc");
  EXPECT_EQ(r2.firstOffset, 5u);
  EXPECT_EQ(c.snapshot(), "56789abc");
}

TEST(ConsoleBuffer, ReadWaitsForAppend) {
  ConsoleBuffer c;
  c.append("x", 1);
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    c.append("yz", 2);
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.read(1, 100, 10s);
  const auto waited = std::chrono::steady_clock::now() - t0;
  writer.join();
  EXPECT_EQ(r.data, "yz");
  EXPECT_EQ(r.nextOffset, 3u);
  EXPECT_LT(waited, 5s) << "woken by the append, not the timeout";
}

TEST(ConsoleBuffer, ReadTimesOutWithNothing) {
  ConsoleBuffer c;
  auto r = c.read(0, 100, 20ms);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.nextOffset, 0u);
  EXPECT_FALSE(r.closed);
}

TEST(ConsoleBuffer, CloseEndsWaits) {
  ConsoleBuffer c;
  c.append("ab", 2);
  std::thread closer([&] {
    std::this_thread::sleep_for(50ms);
    c.close();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.read(2, 100, 10s);
  const auto waited = std::chrono::steady_clock::now() - t0;
  closer.join();
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.nextOffset, 2u);
  EXPECT_LT(waited, 5s);
  // Once closed, reads never wait and old bytes stay readable.
  auto again = c.read(0, 100, 10s);
  EXPECT_EQ(again.data, "ab");
  EXPECT_TRUE(again.closed);
}

}  // namespace
}  // namespace smartvm::hv
