#include "smartvm/hv/time/PvClock.h"

namespace smartvm::hv {

TscScale tscScaleFor(uint64_t hz) {
  constexpr uint64_t kNsPerSec = 1000000000ull;
  if (hz == 0) return {};
  // Bring the rate into (1e9, 2e9] so the fraction 1e9/rate fits 0.32 bits.
  int shift = 0;
  uint64_t tps = hz;
  while (tps > 2 * kNsPerSec) {
    tps >>= 1;
    --shift;
  }
  while (tps <= kNsPerSec) {
    tps <<= 1;
    ++shift;
  }
  TscScale s;
  s.mul = static_cast<uint32_t>((kNsPerSec << 32) / tps);
  s.shift = static_cast<int8_t>(shift);
  return s;
}

uint64_t scaleTicks(uint64_t ticks, TscScale s) {
  if (s.shift < 0) {
    ticks >>= -s.shift;
  } else {
    ticks <<= s.shift;
  }
  return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * s.mul) >> 32);
}

void publishTimeInfo(vcpu_time_info_t& t, uint64_t tsc, uint64_t systemNs, TscScale s) {
  // One writer at a time (the caller serialises); the guest retries while odd.
  const uint32_t odd = __atomic_load_n(&t.version, __ATOMIC_RELAXED) | 1u;
  __atomic_store_n(&t.version, odd, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the fields may not move above the odd version
  t.tsc_timestamp = tsc;
  t.system_time = systemNs;
  t.tsc_to_system_mul = s.mul;
  t.tsc_shift = s.shift;
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&t.version, odd + 1u, __ATOMIC_RELEASE);
}

}  // namespace smartvm::hv
