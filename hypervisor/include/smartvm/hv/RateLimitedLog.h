#pragma once
// Guests can cause exits at will: a per-domain counter lets handlers log the
// first few occurrences of a guest-triggered oddity and stay quiet after.
#include <atomic>
#include <cstdint>

namespace smartvm::hv {

/// True for the first `limit` calls with this counter value sequence.
inline bool shouldLog(std::atomic<uint64_t>& counter, uint64_t limit = 10) {
  return counter.fetch_add(1, std::memory_order_relaxed) < limit;
}

}  // namespace smartvm::hv
