#include "smartvm/hv/VcpuContext.h"

namespace smartvm::hv {
namespace {

constexpr uint64_t kCr0Pe = 1u << 0;
constexpr uint64_t kCr0Pg = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5;
constexpr uint64_t kEferLme = 1u << 8;
constexpr uint64_t kEferLma = 1u << 10;
constexpr uint64_t kEferNx = 1u << 11;
constexpr uint64_t kEferSce = 1u << 0;
// CR4 bits a guest may set here: VME..PCE, OSFXSR, OSXMMEXCPT, UMIP, FSGSBASE,
// PCIDE, OSXSAVE, SMEP, SMAP (no VMX/SMX: the guest sees no VT-x).
constexpr uint64_t kCr4Valid = 0x1ff | (1u << 9) | (1u << 10) | (1u << 11) | (1u << 16) | (1u << 17) |
                               (1u << 18) | (1u << 20) | (1u << 21);
// RFLAGS bits the guest may pass (X86_EFLAGS_ALL); bit 1 is always set.
constexpr uint64_t kRflagsAll = 0x3f7fd5;
constexpr uint64_t kRflagsMbs = 0x2;

Status invalid(const std::string& why) { return error(EINVAL, why); }

bool canonical(uint64_t va) {
  const int64_t s = static_cast<int64_t>(va << 16) >> 16;
  return static_cast<uint64_t>(s) == va;
}

// Xen's _ar layout: type 0-3, s 4, dpl 5-6, p 7, avl 8, l 9, db 10, g 11.
kvm_segment segmentFromAr(uint16_t ar, uint32_t base, uint32_t limit, uint16_t selector) {
  kvm_segment s{};
  s.base = base;
  s.limit = limit;
  s.selector = selector;
  s.type = ar & 0xf;
  s.s = (ar >> 4) & 1;
  s.dpl = (ar >> 5) & 3;
  s.present = (ar >> 7) & 1;
  s.avl = (ar >> 8) & 1;
  s.l = (ar >> 9) & 1;
  s.db = (ar >> 10) & 1;
  s.g = (ar >> 11) & 1;
  s.unusable = s.present ? 0 : 1;
  return s;
}

enum class Seg { Cs, Ds, Ss, Es, Tr };

// Xen's check_segment.
Status checkSegment(uint16_t ar, Seg seg, const char* name) {
  if (ar & 0xf000) return invalid(std::string(name) + ": attribute bits 12-15 are not zero");
  if (ar == 0) {
    if (seg != Seg::Ds && seg != Seg::Es) return invalid(std::string("null segment attributes for ") + name);
    return Status::ok();
  }
  const bool s = (ar >> 4) & 1;
  const unsigned type = ar & 0xf;
  if (seg == Seg::Tr) {
    if (s) return invalid("code or data segment provided for TR");
    if ((type | 2) != 0xb) return invalid("TR is not a 32-bit TSS");
  } else if (!s) {
    return invalid(std::string("system segment provided for ") + name);
  }
  if (!((ar >> 7) & 1)) return invalid(std::string("non-present segment provided for ") + name);
  switch (seg) {
    case Seg::Cs:
      if (!(type & 0x8)) return invalid("non-code segment provided for CS");
      break;
    case Seg::Ss:
      if ((type & 0x8) || !(type & 0x2)) return invalid("non-writeable segment provided for SS");
      break;
    case Seg::Ds:
    case Seg::Es:
      if ((type & 0x8) && !(type & 0x2)) return invalid(std::string("non-readable segment provided for ") + name);
      break;
    case Seg::Tr: break;
  }
  return Status::ok();
}

Status fromMode32(const vcpu_hvm_x86_32& r, KvmVcpuState& st) {
  if (r.pad1 != 0 || r.pad2[0] != 0 || r.pad2[1] != 0 || r.pad2[2] != 0) return invalid("padding is not zero");
  SMARTVM_TRY(checkSegment(r.cs_ar, Seg::Cs, "CS"));
  SMARTVM_TRY(checkSegment(r.ds_ar, Seg::Ds, "DS"));
  SMARTVM_TRY(checkSegment(r.ss_ar, Seg::Ss, "SS"));
  SMARTVM_TRY(checkSegment(r.es_ar, Seg::Es, "ES"));
  SMARTVM_TRY(checkSegment(r.tr_ar, Seg::Tr, "TR"));
  // Xen sets the accessed bit (busy for TR) of present segments.
  auto accessed = [](uint16_t ar, bool tr) -> uint16_t {
    return (ar >> 7) & 1 ? static_cast<uint16_t>(ar | (tr ? 2 : 1)) : ar;
  };
  kvm_segment cs = segmentFromAr(accessed(r.cs_ar, false), r.cs_base, r.cs_limit, 0);
  kvm_segment ds = segmentFromAr(accessed(r.ds_ar, false), r.ds_base, r.ds_limit, 0);
  kvm_segment ss = segmentFromAr(accessed(r.ss_ar, false), r.ss_base, r.ss_limit, 0);
  kvm_segment es = segmentFromAr(accessed(r.es_ar, false), r.es_base, r.es_limit, 0);
  kvm_segment tr = segmentFromAr(accessed(r.tr_ar, true), r.tr_base, r.tr_limit, 0);
  // 32 bits, as Xen computes it: a granular limit past 20 bits wraps, as it does for KVM below.
  uint32_t limit = cs.limit;
  if (cs.g) limit = (limit << 12) | 0xfff;
  if (r.eip > limit) return invalid("EIP outside the CS limit");
  if (ss.dpl != cs.dpl) return invalid("SS.DPL differs from CS.DPL");
  if (ds.present && ds.dpl > cs.dpl) return invalid("DS.DPL is greater than CS.DPL");
  if (es.present && es.dpl > cs.dpl) return invalid("ES.DPL is greater than CS.DPL");
  if ((r.efer & kEferLma) && !(r.efer & kEferLme)) return invalid("EFER.LMA set without EFER.LME");
  // Scaled limits are what KVM wants (it does not apply G itself).
  for (kvm_segment* s : {&cs, &ds, &ss, &es, &tr}) {
    if (s->g) s->limit = (s->limit << 12) | 0xfff;
  }
  st.regs.rax = r.eax;
  st.regs.rcx = r.ecx;
  st.regs.rdx = r.edx;
  st.regs.rbx = r.ebx;
  st.regs.rsp = r.esp;
  st.regs.rbp = r.ebp;
  st.regs.rsi = r.esi;
  st.regs.rdi = r.edi;
  st.regs.rip = r.eip;
  st.regs.rflags = (r.eflags & kRflagsAll) | kRflagsMbs;
  st.sregs.cs = cs;
  st.sregs.ds = ds;
  st.sregs.ss = ss;
  st.sregs.es = es;
  st.sregs.tr = tr;
  st.sregs.cr0 = r.cr0;
  st.sregs.cr3 = r.cr3;
  st.sregs.cr4 = r.cr4;
  st.sregs.efer = r.efer;
  return Status::ok();
}

Status fromMode64(const vcpu_hvm_x86_64& r, KvmVcpuState& st) {
  if (!canonical(r.rip)) return invalid("RIP is not canonical");
  if (!(r.cr0 & kCr0Pg)) return invalid("CR0 does not have paging enabled");
  if (!(r.cr4 & kCr4Pae)) return invalid("CR4 does not have PAE enabled");
  if (!(r.efer & kEferLme)) return invalid("EFER does not have LME enabled");
  st.regs.rax = r.rax;
  st.regs.rcx = r.rcx;
  st.regs.rdx = r.rdx;
  st.regs.rbx = r.rbx;
  st.regs.rsp = r.rsp;
  st.regs.rbp = r.rbp;
  st.regs.rsi = r.rsi;
  st.regs.rdi = r.rdi;
  st.regs.rip = r.rip;
  st.regs.rflags = (r.rflags & kRflagsAll) | kRflagsMbs;
  // Xen loads flat segments: a 64-bit code segment (ar 0xa9b), data 0xc93, a busy TSS 0x8b.
  st.sregs.cs = segmentFromAr(0xa9b, 0, 0xffffffff, 0);
  st.sregs.ds = st.sregs.ss = st.sregs.es = segmentFromAr(0xc93, 0, 0xffffffff, 0);
  st.sregs.tr = segmentFromAr(0x8b, 0, 0x67, 0);
  st.sregs.cr0 = r.cr0;
  st.sregs.cr3 = r.cr3;
  st.sregs.cr4 = r.cr4;
  st.sregs.efer = r.efer;
  return Status::ok();
}

}  // namespace

Result<KvmVcpuState> vcpuStateFromHvmContext(const vcpu_hvm_context_t& ctx, const kvm_sregs& base) {
  if (ctx.pad != 0) return invalid("padding is not zero");
  KvmVcpuState st;
  st.sregs = base;
  switch (ctx.mode) {
    case VCPU_HVM_MODE_32B: SMARTVM_TRY(fromMode32(ctx.cpu_regs.x86_32, st)); break;
    case VCPU_HVM_MODE_64B: SMARTVM_TRY(fromMode64(ctx.cpu_regs.x86_64, st)); break;
    default: return invalid("unknown mode " + std::to_string(ctx.mode));
  }
  if (st.sregs.efer & kEferLme) st.sregs.efer |= kEferLma;
  if (st.sregs.cr4 & ~kCr4Valid) return invalid("CR4 has reserved or unsupported bits set");
  // Xen's hvm_efer_valid: only SCE, LME, LMA and NX are meaningful to a guest here.
  if (st.sregs.efer & ~(kEferSce | kEferLme | kEferLma | kEferNx)) return invalid("EFER has unsupported bits set");
  if ((st.sregs.efer & kEferLma) && (st.sregs.cr0 & kCr0Pg) && !(st.sregs.cr4 & kCr4Pae)) {
    return invalid("long mode paging without CR4.PAE");
  }
  if ((st.sregs.cr0 & kCr0Pg) && !(st.sregs.cr0 & kCr0Pe)) return invalid("CR0.PG set without CR0.PE");
  // fs/gs keep the base's flat data segments; LDT unusable.
  st.sregs.fs = st.sregs.gs = st.sregs.ds;
  st.sregs.fs.base = st.sregs.gs.base = 0;
  st.sregs.ldt = {};
  st.sregs.ldt.unusable = 1;
  return st;
}

}  // namespace smartvm::hv
