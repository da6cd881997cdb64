#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/XenCpuid.h"

#include <xen/arch-x86/cpuid.h>

namespace smartvm::hv {
namespace {

kvm_cpuid_entry2 leaf(uint32_t fn, uint32_t a, uint32_t b = 0, uint32_t c = 0, uint32_t d = 0) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.eax = a;
  e.ebx = b;
  e.ecx = c;
  e.edx = d;
  return e;
}

bool isHypervisorRange(uint32_t fn) { return fn >= 0x40000000u && fn < 0x40010000u; }

}  // namespace

std::vector<kvm_cpuid_entry2> buildXenCpuid(const std::vector<kvm_cpuid_entry2>& supported, CpuidIdentity who) {
  std::vector<kvm_cpuid_entry2> out;
  out.reserve(supported.size() + 8);
  for (kvm_cpuid_entry2 e : supported) {
    if (isHypervisorRange(e.function)) continue;  // drop KVM's "KVMKVMKVM" leaves
    if (e.function == 1) {
      e.ebx = (e.ebx & 0x00ffffffu) | (who.vcpuId << 24);  // initial APIC id
      e.ecx |= 1u << 31;                                  // hypervisor present
    }
    if (e.function == 0xb || e.function == 0x1f) e.edx = who.vcpuId;  // x2APIC id
    out.push_back(e);
  }
  const uint32_t base = XEN_CPUID_FIRST_LEAF;
  out.push_back(leaf(base, base + 4, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX));
  out.push_back(leaf(base + 1, (kXenMajor << 16) | kXenMinor));
  out.push_back(leaf(base + 2, 1, kXenHypercallMsr));
  for (uint32_t sub = 0; sub < 3; ++sub) {
    kvm_cpuid_entry2 t = leaf(base + 3, 0);
    t.index = sub;
    t.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    out.push_back(t);
  }
  out.push_back(leaf(base + 4, XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR, who.vcpuId, who.domid));
  return out;
}

}  // namespace smartvm::hv
