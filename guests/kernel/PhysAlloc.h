// Free guest RAM for workload data: one arena, handed out front to back.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/MemoryMap.h"
#include "lib/Range.h"

class PhysAlloc {
 public:
  /// Picks the largest stretch of RAM below 4 GiB (the identity map's reach)
  /// and above 1 MiB that overlaps none of the reserved ranges.
  void init(const MemoryMap& map, const Range* reserved, size_t count);

  /// A page-aligned block of at least bytes, or nullptr when it doesn't fit.
  void* alloc(uint64_t bytes);

  uint64_t freeBytes() const { return end_ - next_; }

 private:
  uint64_t next_ = 0;
  uint64_t end_ = 0;
};

/// The kernel's one allocator.
PhysAlloc& physAlloc();
