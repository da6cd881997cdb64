// VCPUOP_initialise's register state: vcpu_hvm_context_t checked as Xen's
// arch_set_info_hvm_guest (xen/arch/x86/hvm/domain.c) checks it and turned
// into KVM regs/sregs.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/xen.h>

#include <functional>
#include <string>

#include "smartvm/hv/VcpuContext.h"

namespace smartvm::hv {
namespace {

constexpr uint64_t kCr0Pe = 1u << 0, kCr0Et = 1u << 4, kCr0Pg = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5, kCr4Vmxe = 1u << 13, kCr4Osxsave = 1u << 18;
constexpr uint64_t kEferSce = 1u << 0, kEferLme = 1u << 8, kEferLma = 1u << 10, kEferNx = 1u << 11,
                   kEferSvme = 1u << 12;

// Attribute words in Xen's _ar layout (type 0-3, s 4, dpl 5-6, p 7, avl 8, l 9, db 10, g 11).
constexpr uint16_t kFlatCode32 = 0xc9b;  // code, read, accessed, present, 32-bit, 4 KiB granular
constexpr uint16_t kFlatData32 = 0xc93;  // data, write, accessed, present, 32-bit, 4 KiB granular
constexpr uint16_t kTss32Busy = 0x8b;

// A flat 32-bit protected-mode context, paging off, as a guest would start an AP.
vcpu_hvm_context_t ctx32() {
  vcpu_hvm_context_t c{};
  c.mode = VCPU_HVM_MODE_32B;
  auto& r = c.cpu_regs.x86_32;
  r.eax = 0x11;
  r.ecx = 0x22;
  r.edx = 0x33;
  r.ebx = 0x44;
  r.esp = 0x9000;
  r.ebp = 0x55;
  r.esi = 0x66;
  r.edi = 0x77;
  r.eip = 0x100000;
  r.eflags = 0x2;
  r.cr0 = kCr0Pe | kCr0Et;
  r.cs_limit = r.ds_limit = r.ss_limit = r.es_limit = 0xfffff;
  r.cs_ar = kFlatCode32;
  r.ds_ar = r.ss_ar = r.es_ar = kFlatData32;
  r.tr_limit = 0x67;
  r.tr_ar = kTss32Busy;
  return c;
}

vcpu_hvm_context_t ctx64() {
  vcpu_hvm_context_t c{};
  c.mode = VCPU_HVM_MODE_64B;
  auto& r = c.cpu_regs.x86_64;
  r.rax = 0x1111111111;
  r.rcx = 0x2222222222;
  r.rdx = 0x3333333333;
  r.rbx = 0x4444444444;
  r.rsp = 0xffff800000009000;
  r.rbp = 0x5555555555;
  r.rsi = 0x6666666666;
  r.rdi = 0x7777777777;
  r.rip = 0xffffffff81000000;
  r.rflags = 0x2;
  r.cr0 = kCr0Pe | kCr0Pg;
  r.cr3 = 0x20000;
  r.cr4 = kCr4Pae;
  r.efer = kEferLme;
  return c;
}

kvm_sregs baseSregs() {
  kvm_sregs b{};
  b.gdt.base = 0x1000;
  b.gdt.limit = 0x27;
  b.idt.base = 0x2000;
  b.idt.limit = 0xfff;
  b.apic_base = 0xfee00900;
  b.fs.base = 0xabc000;  // real-mode leftovers that must not survive
  b.gs.base = 0xdef000;
  b.ldt.present = 1;
  b.ldt.unusable = 0;
  return b;
}

Result<KvmVcpuState> convert(const vcpu_hvm_context_t& c) { return vcpuStateFromHvmContext(c, baseSregs()); }

::testing::AssertionResult refused(const vcpu_hvm_context_t& c) {
  auto r = convert(c);
  if (r) return ::testing::AssertionFailure() << "accepted";
  if (r.status().code() != EINVAL) return ::testing::AssertionFailure() << "error " << r.status().toString();
  return ::testing::AssertionSuccess() << r.status().message();
}

::testing::AssertionResult refused32(const std::function<void(vcpu_hvm_x86_32&)>& edit) {
  vcpu_hvm_context_t c = ctx32();
  edit(c.cpu_regs.x86_32);
  return refused(c);
}

void expectSegment(const kvm_segment& s, uint64_t base, uint32_t limit, uint8_t type, uint8_t sFlag, uint8_t dpl,
                   uint8_t db, uint8_t l, uint8_t g, const char* what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(s.base, base);
  EXPECT_EQ(s.limit, limit);
  EXPECT_EQ(s.selector, 0);
  EXPECT_EQ(s.type, type);
  EXPECT_EQ(s.s, sFlag);
  EXPECT_EQ(s.dpl, dpl);
  EXPECT_EQ(s.present, 1);
  EXPECT_EQ(s.db, db);
  EXPECT_EQ(s.l, l);
  EXPECT_EQ(s.g, g);
  EXPECT_EQ(s.unusable, 0);
}

// ---- accepted contexts ----

TEST(VcpuContext, Flat32BitContextMapsToKvmState) {
  vcpu_hvm_context_t c = ctx32();
  auto& r = c.cpu_regs.x86_32;
  r.cs_base = 0x10;
  r.ds_base = 0x20;
  r.ss_base = 0x30;
  r.es_base = 0x40;
  r.tr_base = 0x5000;
  r.cs_ar = 0xc9a;  // not yet accessed: Xen sets the accessed bit
  r.tr_ar = 0x89;   // an available TSS: Xen marks it busy
  r.cr3 = 0x7000;
  r.cr4 = kCr4Osxsave;
  r.efer = kEferNx | kEferSce;
  auto st = convert(c);
  ASSERT_TRUE(st) << st.status().toString();
  EXPECT_EQ(st->regs.rax, 0x11u);
  EXPECT_EQ(st->regs.rcx, 0x22u);
  EXPECT_EQ(st->regs.rdx, 0x33u);
  EXPECT_EQ(st->regs.rbx, 0x44u);
  EXPECT_EQ(st->regs.rsp, 0x9000u);
  EXPECT_EQ(st->regs.rbp, 0x55u);
  EXPECT_EQ(st->regs.rsi, 0x66u);
  EXPECT_EQ(st->regs.rdi, 0x77u);
  EXPECT_EQ(st->regs.rip, 0x100000u);
  EXPECT_EQ(st->regs.rflags, 0x2u);
  EXPECT_EQ(st->regs.r8, 0u);
  // G scales the 20-bit limits to bytes, which is what KVM takes.
  expectSegment(st->sregs.cs, 0x10, 0xffffffff, 0xb, 1, 0, 1, 0, 1, "cs");
  expectSegment(st->sregs.ds, 0x20, 0xffffffff, 0x3, 1, 0, 1, 0, 1, "ds");
  expectSegment(st->sregs.ss, 0x30, 0xffffffff, 0x3, 1, 0, 1, 0, 1, "ss");
  expectSegment(st->sregs.es, 0x40, 0xffffffff, 0x3, 1, 0, 1, 0, 1, "es");
  expectSegment(st->sregs.tr, 0x5000, 0x67, 0xb, 0, 0, 0, 0, 0, "tr");
  EXPECT_EQ(st->sregs.cr0, kCr0Pe | kCr0Et);
  EXPECT_EQ(st->sregs.cr3, 0x7000u);
  EXPECT_EQ(st->sregs.cr4, kCr4Osxsave);
  EXPECT_EQ(st->sregs.efer, kEferNx | kEferSce);
  // What the context does not name comes from the base...
  EXPECT_EQ(st->sregs.gdt.base, 0x1000u);
  EXPECT_EQ(st->sregs.gdt.limit, 0x27u);
  EXPECT_EQ(st->sregs.idt.base, 0x2000u);
  EXPECT_EQ(st->sregs.apic_base, 0xfee00900u);
  // ...except FS/GS, flat like DS, and no LDT.
  EXPECT_EQ(st->sregs.fs.base, 0u);
  EXPECT_EQ(st->sregs.gs.base, 0u);
  EXPECT_EQ(st->sregs.fs.limit, 0xffffffffu);
  EXPECT_EQ(st->sregs.gs.type, 0x3);
  EXPECT_EQ(st->sregs.ldt.unusable, 1);
  EXPECT_EQ(st->sregs.ldt.present, 0);
}

TEST(VcpuContext, ByteGranularLimitsAndANullDataSegment) {
  vcpu_hvm_context_t c = ctx32();
  auto& r = c.cpu_regs.x86_32;
  r.cs_ar = 0x49b;  // byte granular, 32-bit
  r.cs_limit = 0xffff;
  r.eip = 0xffff;  // the last byte inside the limit
  r.ds_ar = 0;     // a null DS/ES is allowed (not CS/SS/TR)
  r.es_ar = 0;
  r.ds_limit = 0x1234;
  auto st = convert(c);
  ASSERT_TRUE(st) << st.status().toString();
  EXPECT_EQ(st->sregs.cs.limit, 0xffffu);
  EXPECT_EQ(st->sregs.cs.g, 0);
  EXPECT_EQ(st->sregs.ds.present, 0);
  EXPECT_EQ(st->sregs.ds.unusable, 1);
  EXPECT_EQ(st->sregs.es.unusable, 1);
  EXPECT_EQ(st->sregs.ds.type, 0) << "no accessed bit on a non-present segment";
  r.eip = 0x10000;
  EXPECT_TRUE(refused(c)) << "EIP one past the limit";
}

TEST(VcpuContext, RflagsKeepsOnlyArchitecturalBitsAndBit1) {
  vcpu_hvm_context_t c = ctx32();
  c.cpu_regs.x86_32.eflags = 0xffffffff;
  auto st = convert(c);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->regs.rflags, 0x3f7fd7u);
  c.cpu_regs.x86_32.eflags = 0;
  st = convert(c);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->regs.rflags, 0x2u);
  vcpu_hvm_context_t c64 = ctx64();
  c64.cpu_regs.x86_64.rflags = ~0ull;
  st = convert(c64);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->regs.rflags, 0x3f7fd7u);
}

TEST(VcpuContext, LongModeContextLoadsFlatSegmentsAndSetsLma) {
  auto st = convert(ctx64());
  ASSERT_TRUE(st) << st.status().toString();
  EXPECT_EQ(st->regs.rax, 0x1111111111u);
  EXPECT_EQ(st->regs.rcx, 0x2222222222u);
  EXPECT_EQ(st->regs.rdx, 0x3333333333u);
  EXPECT_EQ(st->regs.rbx, 0x4444444444u);
  EXPECT_EQ(st->regs.rsp, 0xffff800000009000u);
  EXPECT_EQ(st->regs.rbp, 0x5555555555u);
  EXPECT_EQ(st->regs.rsi, 0x6666666666u);
  EXPECT_EQ(st->regs.rdi, 0x7777777777u);
  EXPECT_EQ(st->regs.rip, 0xffffffff81000000u);
  // Xen's 0xa9b code, 0xc93 data and a busy 64-bit TSS (0x8b, limit 0x67).
  expectSegment(st->sregs.cs, 0, 0xffffffff, 0xb, 1, 0, 0, 1, 1, "cs");
  expectSegment(st->sregs.ds, 0, 0xffffffff, 0x3, 1, 0, 1, 0, 1, "ds");
  expectSegment(st->sregs.ss, 0, 0xffffffff, 0x3, 1, 0, 1, 0, 1, "ss");
  expectSegment(st->sregs.es, 0, 0xffffffff, 0x3, 1, 0, 1, 0, 1, "es");
  expectSegment(st->sregs.tr, 0, 0x67, 0xb, 0, 0, 0, 0, 0, "tr");
  EXPECT_EQ(st->sregs.cr0, kCr0Pe | kCr0Pg);
  EXPECT_EQ(st->sregs.cr3, 0x20000u);
  EXPECT_EQ(st->sregs.cr4, kCr4Pae);
  EXPECT_EQ(st->sregs.efer, kEferLme | kEferLma) << "Xen sets LMA with LME";
  EXPECT_EQ(st->sregs.gdt.base, 0x1000u);
  EXPECT_EQ(st->sregs.ldt.unusable, 1);
}

TEST(VcpuContext, LongModeAcceptsLowCanonicalRip) {
  vcpu_hvm_context_t c = ctx64();
  c.cpu_regs.x86_64.rip = 0x00007fffffffffff;
  auto st = convert(c);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->regs.rip, 0x00007fffffffffffu);
}

TEST(VcpuContext, CompatibilityModeThrough32BitFieldsSetsLma) {
  // Xen: LME in a 32-bit context starts the vCPU in compatibility mode.
  vcpu_hvm_context_t c = ctx32();
  auto& r = c.cpu_regs.x86_32;
  r.cr0 = kCr0Pe | kCr0Pg;
  r.cr4 = kCr4Pae;
  r.cr3 = 0x20000;
  r.efer = kEferLme;
  auto st = convert(c);
  ASSERT_TRUE(st) << st.status().toString();
  EXPECT_EQ(st->sregs.efer, kEferLme | kEferLma);
  EXPECT_EQ(st->sregs.cs.l, 0);
}

// ---- Xen's refusals (each -EINVAL) ----

TEST(VcpuContext, RefusesBadModeAndPadding) {
  vcpu_hvm_context_t c = ctx64();
  c.mode = 2;
  EXPECT_TRUE(refused(c));
  c.mode = 0xffffffff;
  EXPECT_TRUE(refused(c));
  c = ctx64();
  c.pad = 1;
  EXPECT_TRUE(refused(c));
  EXPECT_TRUE(refused32([](auto& r) { r.pad1 = 1; }));
  EXPECT_TRUE(refused32([](auto& r) { r.pad2[0] = 1; }));
  EXPECT_TRUE(refused32([](auto& r) { r.pad2[2] = 0x8000; }));
}

TEST(VcpuContext, RefusesLongModeWithoutItsPrerequisites) {
  auto edit64 = [](const std::function<void(vcpu_hvm_x86_64&)>& f) {
    vcpu_hvm_context_t c = ctx64();
    f(c.cpu_regs.x86_64);
    return refused(c);
  };
  EXPECT_TRUE(edit64([](auto& r) { r.rip = 0x0000800000000000; })) << "non-canonical RIP";
  EXPECT_TRUE(edit64([](auto& r) { r.rip = 0xffff7fffffffffff; })) << "non-canonical RIP";
  EXPECT_TRUE(edit64([](auto& r) { r.cr0 = kCr0Pe; })) << "no CR0.PG";
  EXPECT_TRUE(edit64([](auto& r) { r.cr4 = 0; })) << "no CR4.PAE";
  EXPECT_TRUE(edit64([](auto& r) { r.efer = 0; })) << "no EFER.LME";
  EXPECT_TRUE(edit64([](auto& r) { r.efer = kEferLma; })) << "LMA alone is not LME";
  EXPECT_TRUE(edit64([](auto& r) { r.cr0 = kCr0Pg; })) << "CR0.PG without CR0.PE";
}

TEST(VcpuContext, RefusesBadControlRegistersAndEfer) {
  EXPECT_TRUE(refused32([](auto& r) { r.cr4 = kCr4Vmxe; })) << "no nested VMX";
  EXPECT_TRUE(refused32([](auto& r) { r.cr4 = 1u << 15; })) << "reserved CR4 bit";
  EXPECT_TRUE(refused32([](auto& r) { r.efer = kEferSvme; })) << "no nested SVM";
  EXPECT_TRUE(refused32([](auto& r) { r.efer = 1ull << 63; })) << "reserved EFER bit";
  EXPECT_TRUE(refused32([](auto& r) { r.efer = kEferLma; })) << "EFER.LMA without EFER.LME";
  // Two that Xen leaves to VM entry to fail (crashing the domain); KVM's
  // KVM_SET_SREGS refuses them, so they are refused here up front.
  EXPECT_TRUE(refused32([](auto& r) { r.cr0 = kCr0Pg; })) << "CR0.PG without CR0.PE";
  EXPECT_TRUE(refused32([](auto& r) {
    r.cr0 = kCr0Pe | kCr0Pg;
    r.efer = kEferLme;  // long mode paging needs CR4.PAE
  }));
  vcpu_hvm_context_t c = ctx64();
  c.cpu_regs.x86_64.cr4 = kCr4Pae | kCr4Vmxe;
  EXPECT_TRUE(refused(c));
}

TEST(VcpuContext, RefusesBadSegmentAttributes) {
  // Bits 12-15 of any _ar.
  EXPECT_TRUE(refused32([](auto& r) { r.cs_ar = kFlatCode32 | 0x1000; }));
  EXPECT_TRUE(refused32([](auto& r) { r.tr_ar = kTss32Busy | 0x8000; }));
  EXPECT_TRUE(refused32([](auto& r) { r.ds_ar = 0xf000; })) << "not null: the high bits are set";
  // Null CS, SS, TR.
  EXPECT_TRUE(refused32([](auto& r) { r.cs_ar = 0; }));
  EXPECT_TRUE(refused32([](auto& r) { r.ss_ar = 0; }));
  EXPECT_TRUE(refused32([](auto& r) { r.tr_ar = 0; }));
  // System descriptors where code/data is needed, and the reverse for TR.
  EXPECT_TRUE(refused32([](auto& r) { r.cs_ar = kFlatCode32 & ~0x10; }));
  EXPECT_TRUE(refused32([](auto& r) { r.ds_ar = kFlatData32 & ~0x10; }));
  EXPECT_TRUE(refused32([](auto& r) { r.tr_ar = kTss32Busy | 0x10; }));
  // TR must be a 32-bit TSS (available or busy), not a 16-bit one or an LDT.
  EXPECT_TRUE(refused32([](auto& r) { r.tr_ar = 0x81; }));
  EXPECT_TRUE(refused32([](auto& r) { r.tr_ar = 0x83; }));
  EXPECT_TRUE(refused32([](auto& r) { r.tr_ar = 0x82; }));
  // Not present.
  EXPECT_TRUE(refused32([](auto& r) { r.cs_ar = kFlatCode32 & ~0x80; }));
  EXPECT_TRUE(refused32([](auto& r) { r.es_ar = kFlatData32 & ~0x80; }));
  EXPECT_TRUE(refused32([](auto& r) { r.tr_ar = kTss32Busy & ~0x80; }));
  // CS must be code; SS writable data; DS/ES readable.
  EXPECT_TRUE(refused32([](auto& r) { r.cs_ar = kFlatData32; }));
  EXPECT_TRUE(refused32([](auto& r) { r.ss_ar = kFlatCode32; }));
  EXPECT_TRUE(refused32([](auto& r) { r.ss_ar = 0xc91; })) << "read-only data for SS";
  EXPECT_TRUE(refused32([](auto& r) { r.ds_ar = 0xc99; })) << "execute-only code for DS";
  EXPECT_TRUE(refused32([](auto& r) { r.es_ar = 0xc98; })) << "execute-only code for ES";
}

TEST(VcpuContext, AcceptsTheSegmentsXenAccepts) {
  vcpu_hvm_context_t c = ctx32();
  c.cpu_regs.x86_32.ds_ar = 0xc9b;  // readable code is fine for DS
  c.cpu_regs.x86_32.es_ar = 0xc91;  // read-only data is fine for ES
  c.cpu_regs.x86_32.tr_ar = 0x89;   // available 32-bit TSS
  auto st = convert(c);
  ASSERT_TRUE(st) << st.status().toString();
  EXPECT_EQ(st->sregs.ds.type, 0xb);
  EXPECT_EQ(st->sregs.es.type, 0x1);
  EXPECT_EQ(st->sregs.tr.type, 0xb) << "busy";
}

TEST(VcpuContext, RefusesPrivilegeMismatches) {
  constexpr uint16_t kDpl3 = 3 << 5;
  EXPECT_TRUE(refused32([](auto& r) { r.ss_ar = kFlatData32 | kDpl3; })) << "SS.DPL != CS.DPL";
  EXPECT_TRUE(refused32([](auto& r) { r.ds_ar = kFlatData32 | kDpl3; })) << "DS.DPL > CS.DPL";
  EXPECT_TRUE(refused32([](auto& r) { r.es_ar = kFlatData32 | (1 << 5); })) << "ES.DPL > CS.DPL";
  // A ring-3 CS and SS with ring-0 data segments is allowed.
  vcpu_hvm_context_t c = ctx32();
  c.cpu_regs.x86_32.cs_ar = kFlatCode32 | kDpl3;
  c.cpu_regs.x86_32.ss_ar = kFlatData32 | kDpl3;
  auto st = convert(c);
  ASSERT_TRUE(st) << st.status().toString();
  EXPECT_EQ(st->sregs.cs.dpl, 3);
  EXPECT_EQ(st->sregs.ds.dpl, 0);
}

TEST(VcpuContext, EipAgainstTheCsLimit) {
  EXPECT_TRUE(refused32([](auto& r) {
    r.cs_ar = 0x49b;  // byte granular
    r.cs_limit = 0xfff;
    r.eip = 0x1000;
  }));
  // Granular limit 0xfffff covers all 4 GiB.
  vcpu_hvm_context_t c = ctx32();
  c.cpu_regs.x86_32.eip = 0xffffffff;
  EXPECT_TRUE(convert(c));
  // Xen scales a granular limit in 32 bits: a limit beyond 20 bits wraps
  // (0x100000 << 12 | 0xfff is 0xfff), leaving only the first page.
  EXPECT_TRUE(refused32([](auto& r) {
    r.cs_limit = 0x100000;
    r.eip = 0x1000;
  }));
  c.cpu_regs.x86_32.cs_limit = 0x100000;
  c.cpu_regs.x86_32.eip = 0xfff;
  EXPECT_TRUE(convert(c));
}

}  // namespace
}  // namespace smartvm::hv
