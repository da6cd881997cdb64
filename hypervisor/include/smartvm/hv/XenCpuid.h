#pragma once
// The CPUID a Smart-VM guest sees: the host's leaves, with KVM's own
// hypervisor leaves replaced by Xen's (docs/guest-abi.md).
#include "smartvm/hv/kvm/KvmAbi.h"

#include <cstdint>
#include <vector>

namespace smartvm::hv {

/// The MSR that installs the hypercall page (reported in leaf base+2).
inline constexpr uint32_t kXenHypercallMsr = 0x40000000;
/// Xen ABI version offered to guests: 4.17.
inline constexpr uint32_t kXenMajor = 4;
inline constexpr uint32_t kXenMinor = 17;
/// XENVER_extraversion, XENVER_capabilities and XENVER_changeset as guests and `smartvm info` see them.
inline constexpr char kXenExtraVersion[] = ".0-smartvm";
inline constexpr char kXenCapabilities[] = "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64";
inline constexpr char kHvVersion[] = "smartvm-hv 0.1.0";

struct CpuidIdentity {
  uint32_t vcpuId;
  uint32_t domid;
};

/// Builds the CPUID table for one vCPU from the host's supported leaves.
std::vector<kvm_cpuid_entry2> buildXenCpuid(const std::vector<kvm_cpuid_entry2>& supported, CpuidIdentity who);

}  // namespace smartvm::hv
