// The guest's memory map, as start_info or XENMEM_memory_map tells it.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "pvh/StartInfo.h"

/// One memory map entry, whichever source it came from.
struct MemoryRegion {
  uint64_t addr;
  uint64_t size;
  uint32_t type;  // XEN_HVM_MEMMAP_TYPE_*
};

/// XENMEM_memory_map fills "the same format as returned by the BIOS INT 0x15
/// EAX=0xE820 call": packed 20-byte entries. Xen's public headers name the
/// format but define no struct for it.
struct [[gnu::packed]] E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};
static_assert(sizeof(E820Entry) == 20);

class MemoryMap {
 public:
  static constexpr size_t kMaxEntries = 64;

  /// Takes the map from start_info (version >= 1), else from XENMEM_memory_map.
  /// Returns false when neither gives one.
  bool load(const pvh::StartInfo& info);

  size_t size() const { return count_; }
  const MemoryRegion& operator[](size_t i) const { return regions_[i]; }

  /// Sum of the RAM entries.
  uint64_t ramBytes() const;

  /// True when load() found the map in start_info.
  bool fromStartInfo() const { return fromStartInfo_; }

 private:
  MemoryRegion regions_[kMaxEntries] = {};
  size_t count_ = 0;
  bool fromStartInfo_ = false;
};

/// The kernel's memory map, loaded at boot.
MemoryMap& memoryMap();

/// Calls XENMEM_memory_map into out[0..max). Returns the hypercall's result;
/// on success count is the number of entries written.
long fetchXenMemoryMap(E820Entry* out, size_t max, size_t& count);
