#pragma once
// VCPUOP_initialise for HVM/PVH guests: Xen's struct vcpu_hvm_context
// (xen/hvm/hvm_vcpu.h) checked as arch_set_info_hvm_guest checks it and
// turned into KVM register state.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/xen.h>
#include <xen/hvm/hvm_vcpu.h>

#include <string>

#include "smartvm/Result.h"
#include "smartvm/hv/kvm/KvmAbi.h"

namespace smartvm::hv {

struct KvmVcpuState {
  kvm_regs regs{};
  kvm_sregs sregs{};
};

/// The register state `ctx` asks for, applied over `base` (the vCPU's current
/// special registers, which keep what the context does not name: GDT/IDT
/// bases, APIC base, ...). EINVAL with the reason Xen would log otherwise.
Result<KvmVcpuState> vcpuStateFromHvmContext(const vcpu_hvm_context_t& ctx, const kvm_sregs& base);

}  // namespace smartvm::hv
