#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/builder/BootAllocator.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include <xen/arch-x86/hvm/start_info.h>

namespace smartvm::hv {
namespace {

/// Lowest `align`-aligned address >= from where `size` bytes fit inside `e`
/// and below `limit`; nothing when they do not. Overflow-safe.
std::optional<uint64_t> fitInEntry(const MemMapEntry& e, uint64_t from, uint64_t size, uint64_t align,
                                   uint64_t limit) {
  uint64_t end = e.addr + e.size < e.addr ? UINT64_MAX : e.addr + e.size;
  end = std::min(end, limit);
  uint64_t base = std::max(from, e.addr);
  if (base > UINT64_MAX - (align - 1)) return std::nullopt;
  base = (base + align - 1) & ~(align - 1);
  if (base >= end || size > end - base) return std::nullopt;
  return base;
}

}  // namespace

Result<uint64_t> BootAllocator::allocate(uint64_t size, uint64_t align, std::string_view what) {
  std::optional<uint64_t> best;
  // Entries are meant to be sorted, but taking the minimum does not rely on it.
  for (const MemMapEntry& e : mem_.memoryMap()) {
    if (e.type != XEN_HVM_MEMMAP_TYPE_RAM) continue;
    auto at = fitInEntry(e, cursor_, size, align, limit_);
    if (at && mem_.hostPtr(*at, size) != nullptr && (!best || *at < *best)) best = at;
  }
  if (!best) {
    return error(E2BIG, fmt::format("no room for the {} ({} bytes) in guest RAM between {:#x} and {:#x}", what,
                                    size, cursor_, limit_));
  }
  cursor_ = *best + size;
  return *best;
}

}  // namespace smartvm::hv
