#include "kernel/Xen.h"

#include <xen/arch-x86/cpuid.h>

#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"

namespace xen {
namespace {

bool gReady = false;
uint32_t gBase = 0;

bool hasSignature(uint32_t leaf) {
  cpu::CpuidResult r = cpu::cpuid(leaf);
  // Leaf base+2 must exist too: it names the hypercall MSR.
  return r.ebx == XEN_CPUID_SIGNATURE_EBX && r.ecx == XEN_CPUID_SIGNATURE_ECX &&
         r.edx == XEN_CPUID_SIGNATURE_EDX && r.eax >= leaf + 2;
}

}  // namespace

bool init() {
  for (uint32_t leaf = XEN_CPUID_FIRST_LEAF; leaf < XEN_CPUID_FIRST_LEAF + 0x10000; leaf += 0x100) {
    if (!hasSignature(leaf)) continue;
    gBase = leaf;
    uint32_t msr = cpu::cpuid(leaf + 2).ebx;
    cpu::wrmsr(msr, reinterpret_cast<uintptr_t>(hypercall_page));
    gReady = true;
    return true;
  }
  return false;
}

bool ready() { return gReady; }

uint32_t cpuidBase() { return gBase; }

bool domid(uint32_t& out) {
  if (!gReady || cpu::cpuid(gBase).eax < gBase + 4) return false;
  const cpu::CpuidResult r = cpu::cpuid(gBase + 4);
  if ((r.eax & XEN_HVM_CPUID_DOMID_PRESENT) == 0) return false;
  out = r.ecx;
  return true;
}

}  // namespace xen
