#pragma once
// Per-domain counters of VM exits and hypercalls, bumped on vCPU threads.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "smartvm/hv/kvm/VcpuExit.h"

namespace smartvm::hv {

inline constexpr unsigned kMaxHypercall = 64;

struct DomainCounters {
  std::array<std::atomic<uint64_t>, static_cast<size_t>(ExitReason::Count)> exits{};
  std::array<std::atomic<uint64_t>, kMaxHypercall> hypercalls{};
  std::atomic<uint64_t> unknownHypercalls{0};  ///< numbers answered with -ENOSYS
  std::atomic<uint64_t> unknownPorts{0};
  std::atomic<uint64_t> unknownMmio{0};
  std::atomic<uint64_t> unknownMsrs{0};
  std::atomic<uint64_t> refusedRequests{0};  ///< hypercall arguments refused with a log line
  std::atomic<uint64_t> haltBlocks{0};  ///< guest `hlt`s found at a kick and turned into a block (scheduler)
  std::atomic<uint64_t> timedHaltBlocks{0};  ///< those of them that end at the guest's LAPIC timer at the latest
  /// Kicks by the scheduler's halt check (someone waited for the vCPU's pCPU
  /// and its thread looked idle), and how many of them found it halted and blocked it.
  std::atomic<uint64_t> haltChecks{0};
  std::atomic<uint64_t> haltCheckBlocks{0};
  /// Wall time vCPU threads spent in user space handling exits, from KVM_RUN's
  /// return to the next KVM_RUN, minus sleeps in SCHEDOP_block/poll or hlt:
  /// smartvm-hv's own share of a guest's time.
  std::atomic<uint64_t> exitHandlingNs{0};

  void countExit(ExitReason r) { exits[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed); }

  /// Non-zero exit counts by reason name.
  std::map<std::string, uint64_t> exitCounts() const;
  /// Non-zero hypercall counts by hypercall name ("unknown" for -ENOSYS ones).
  std::map<std::string, uint64_t> hypercallCounts() const;
  /// Non-zero scheduler counters about guests idling in `hlt`: "halt_block",
  /// "halt_block_timed", "halt_check", "halt_check_block" (shown among the exit counts).
  std::map<std::string, uint64_t> haltCounts() const;
};

/// Xen's name for a hypercall number ("xen_version"), or "hypercall_<n>".
std::string hypercallName(unsigned nr);

}  // namespace smartvm::hv
