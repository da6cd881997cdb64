#include "kernel/PhysAlloc.h"

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kLowest = 0x100000;      // leave the legacy first MiB alone
constexpr uint64_t kMapped = 0x100000000;   // pvh/pagetables.S maps 4 GiB

uint64_t alignUp(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }
uint64_t alignDown(uint64_t v) { return v & ~(kPage - 1); }

bool insideAny(uint64_t a, const Range* reserved, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (reserved[i].contains(a)) return true;
  }
  return false;
}

/// The free stretch that starts at start and ends at limit or the next reservation.
Range gapFrom(uint64_t start, uint64_t limit, const Range* reserved, size_t count) {
  uint64_t end = limit;
  for (size_t i = 0; i < count; ++i) {
    if (reserved[i].start >= start && reserved[i].start < end) end = reserved[i].start;
  }
  return Range{alignUp(start), alignDown(end)};
}

/// The largest gap inside one RAM region; gaps start at the region or right after a reservation.
Range largestGap(Range ram, const Range* reserved, size_t count) {
  Range best;
  for (size_t i = 0; i <= count; ++i) {
    uint64_t start = i == count ? ram.start : reserved[i].end;
    if (!ram.contains(start) || insideAny(start, reserved, count)) continue;
    Range gap = gapFrom(start, ram.end, reserved, count);
    if (gap.size() > best.size()) best = gap;
  }
  return best;
}

constinit PhysAlloc gAlloc;

}  // namespace

void PhysAlloc::init(const MemoryMap& map, const Range* reserved, size_t count) {
  Range best;
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i].type != XEN_HVM_MEMMAP_TYPE_RAM) continue;
    uint64_t start = map[i].addr > kLowest ? map[i].addr : kLowest;
    uint64_t end = map[i].addr + map[i].size < kMapped ? map[i].addr + map[i].size : kMapped;
    if (start >= end) continue;
    Range gap = largestGap(Range{start, end}, reserved, count);
    if (gap.size() > best.size()) best = gap;
  }
  next_ = best.start;
  end_ = best.end > best.start ? best.end : best.start;
}

void* PhysAlloc::alloc(uint64_t bytes) {
  uint64_t size = alignUp(bytes);
  if (size < bytes || size > freeBytes()) return nullptr;
  uint64_t at = next_;
  next_ += size;
  return reinterpret_cast<void*>(at);
}

PhysAlloc& physAlloc() { return gAlloc; }
