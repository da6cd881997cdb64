#pragma once
// The hypercall page a guest installs through the Xen MSR (docs/guest-abi.md).
#include <cstdint>

namespace smartvm::hv {

/// The I/O port a hypercall stub writes to leave the guest.
inline constexpr uint16_t kHypercallPort = 0xe4;
inline constexpr unsigned kHypercallStubSize = 32;

/// Fills a 4 KiB page with one stub per hypercall number: mov $nr,%eax; out %eax,$0xe4; ret.
void fillHypercallPage(uint8_t* page);

}  // namespace smartvm::hv
