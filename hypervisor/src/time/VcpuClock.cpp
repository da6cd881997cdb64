#include "smartvm/hv/time/VcpuClock.h"

#include <x86intrin.h>

#include "smartvm/hv/Vcpu.h"  // monotonicNs
#include "smartvm/hv/kvm/VmBackend.h"

namespace smartvm::hv {

Status VcpuClock::calibrate(VcpuBackend& backend) {
  SMARTVM_ASSIGN_OR_RETURN(uint32_t khz, backend.tscKhz());
  // Bracket the guest read with host reads; the midpoint is the best pairing.
  const uint64_t before = __rdtsc();
  SMARTVM_ASSIGN_OR_RETURN(uint64_t guest, backend.guestTsc());
  const uint64_t after = __rdtsc();
  offset_ = static_cast<int64_t>(guest - (before + (after - before) / 2));
  scale_ = tscScaleFor(static_cast<uint64_t>(khz) * 1000u);
  calibrated_.store(true, std::memory_order_release);
  return Status::ok();
}

uint64_t VcpuClock::guestTscNow() const { return __rdtsc() + static_cast<uint64_t>(offset_); }

void VcpuClock::publish(vcpu_time_info_t* t) {
  if (t == nullptr || !calibrated()) return;
  std::lock_guard lk(writer_);
  const uint64_t tsc = guestTscNow();
  const uint64_t now = monotonicNs();
  publishTimeInfo(*t, tsc, now, scale_);
  lastPublishNs_.store(now, std::memory_order_relaxed);
}

}  // namespace smartvm::hv
