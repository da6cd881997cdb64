// Finding the hypervisor the way a Xen HVM/PVH guest does.
#pragma once
#include <stdint.h>

namespace xen {

/// Scans the CPUID hypervisor leaves for "XenVMMXenVMM" and installs the
/// hypercall page. Returns false when there is no Xen (no way to print then).
bool init();

/// True once the hypercall page is installed.
bool ready();

/// This domain's id from CPUID leaf base+4 ECX when Xen sets
/// XEN_HVM_CPUID_DOMID_PRESENT; false otherwise.
bool domid(uint32_t& out);

/// The CPUID leaf carrying the Xen signature (0x40000000 + n * 0x100).
uint32_t cpuidBase();

}  // namespace xen
