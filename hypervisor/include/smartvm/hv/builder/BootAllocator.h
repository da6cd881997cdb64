#pragma once
// Bump allocator for boot-time structures placed in guest RAM.
#include <cstdint>
#include <string_view>

#include "smartvm/Result.h"
#include "smartvm/hv/PhysMemory.h"

namespace smartvm::hv {

/// Hands out guest-physical ranges upward from a start address, only inside
/// RAM entries (XEN_HVM_MEMMAP_TYPE_RAM) of the memory map that PhysMemory
/// can map, and wholly below a limit. Ranges never overlap and never move
/// below the cursor, so anything below `start` (the kernel) stays untouched.
class BootAllocator {
 public:
  BootAllocator(PhysMemory& mem, uint64_t start, uint64_t limit)
      : mem_(mem), cursor_(start), limit_(limit) {}

  /// Reserves `size` (> 0) bytes aligned to `align` (a power of two) at the
  /// lowest suitable address at or above the cursor. E2BIG naming `what`
  /// when nothing fits.
  [[nodiscard]] Result<uint64_t> allocate(uint64_t size, uint64_t align, std::string_view what);

  /// First address after everything allocated so far (or the start address).
  uint64_t cursor() const { return cursor_; }

 private:
  PhysMemory& mem_;
  uint64_t cursor_;
  uint64_t limit_;
};

}  // namespace smartvm::hv
