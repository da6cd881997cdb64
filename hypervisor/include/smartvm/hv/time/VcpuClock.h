#pragma once
// Keeps one vCPU's vcpu_info.time valid: the guest's TSC is the host's plus
// a fixed offset (KVM's), measured once on the vCPU's thread, so any thread
// can later publish a fresh (TSC, system time) pair without touching the vCPU.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/xen.h>

#include <atomic>
#include <mutex>

#include "smartvm/Status.h"
#include "smartvm/hv/time/PvClock.h"

namespace smartvm::hv {

class VcpuBackend;

class VcpuClock {
 public:
  /// How old a published pair may get before the vCPU loop refreshes it.
  static constexpr uint64_t kRefreshNs = 1000000000ull;

  /// Reads the guest TSC and its rate. On the vCPU's thread, outside run().
  Status calibrate(VcpuBackend& backend);
  bool calibrated() const { return calibrated_.load(std::memory_order_acquire); }
  /// Writes the current time into `t`; no-op before calibrate(). Any thread.
  void publish(vcpu_time_info_t* t);
  /// Whether the last publish is older than kRefreshNs at `nowNs`.
  bool stale(uint64_t nowNs) const { return nowNs - lastPublishNs_.load(std::memory_order_relaxed) > kRefreshNs; }
  /// The guest TSC now, estimated from the host's.
  uint64_t guestTscNow() const;
  TscScale scale() const { return scale_; }

 private:
  std::mutex writer_;  // one writer at a time keeps the version protocol intact
  std::atomic<bool> calibrated_{false};
  int64_t offset_ = 0;  // guest TSC - host TSC
  TscScale scale_;
  std::atomic<uint64_t> lastPublishNs_{0};
};

}  // namespace smartvm::hv
