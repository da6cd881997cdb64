#pragma once
// Xen's vcpu_time_info ("pvclock"): the (TSC, system time) pair and the
// fixed-point TSC scale a guest uses to compute system time from rdtsc.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/xen.h>

namespace smartvm::hv {

struct TscScale {
  uint32_t mul = 0;  ///< tsc_to_system_mul: ns per tick as a 0.32 fixed-point fraction
  int8_t shift = 0;  ///< tsc_shift: applied to the tick delta before the multiply
};

/// Xen's set_time_scale: the scale for a TSC running at `hz` ticks per second.
TscScale tscScaleFor(uint64_t hz);
/// What a guest computes: ns for `ticks` TSC ticks under `s` (pvclock's scale_delta).
uint64_t scaleTicks(uint64_t ticks, TscScale s);
/// Publishes (tsc, systemNs, s) with Xen's version protocol: version odd while
/// the fields change, even again after, with write barriers between.
void publishTimeInfo(vcpu_time_info_t& t, uint64_t tsc, uint64_t systemNs, TscScale s);

}  // namespace smartvm::hv
