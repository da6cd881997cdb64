#include "kernel/MemoryMap.h"

#include "kernel/Hypercall.h"

namespace {

constinit MemoryMap gMemoryMap;

}  // namespace

MemoryMap& memoryMap() { return gMemoryMap; }

long fetchXenMemoryMap(E820Entry* out, size_t max, size_t& count) {
  xen_memory_map request{};
  request.nr_entries = static_cast<unsigned>(max);
  set_xen_guest_handle(request.buffer, out);
  long rc = xen::memoryOp(XENMEM_memory_map, &request);
  count = rc == 0 ? request.nr_entries : 0;
  return rc;
}

bool MemoryMap::load(const pvh::StartInfo& info) {
  count_ = 0;
  fromStartInfo_ = info.memmap() != nullptr;
  if (const hvm_memmap_table_entry* table = info.memmap()) {
    for (uint32_t i = 0; i < info.memmapEntries() && count_ < kMaxEntries; ++i)
      regions_[count_++] = MemoryRegion{table[i].addr, table[i].size, table[i].type};
    return count_ != 0;
  }
  E820Entry entries[kMaxEntries];
  size_t n = 0;
  if (fetchXenMemoryMap(entries, kMaxEntries, n) != 0) return false;
  for (size_t i = 0; i < n && i < kMaxEntries; ++i)
    regions_[count_++] = MemoryRegion{entries[i].addr, entries[i].size, entries[i].type};
  return count_ != 0;
}

uint64_t MemoryMap::ramBytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i < count_; ++i) {
    if (regions_[i].type == XEN_HVM_MEMMAP_TYPE_RAM) total += regions_[i].size;
  }
  return total;
}
