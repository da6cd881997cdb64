#pragma once
// Test double for PhysMemory: vector-backed RAM regions plus a settable memory map.
#include <xen/arch-x86/hvm/start_info.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "smartvm/hv/PhysMemory.h"

namespace smartvm::hv::test {

/// Guest RAM made of separate vector-backed regions. The memory map defaults
/// to one XEN_HVM_MEMMAP_TYPE_RAM entry per region and can be replaced, e.g.
/// to claim more RAM than is backed or to add reserved holes.
class FakePhysMemory : public PhysMemory {
 public:
  struct Region {
    uint64_t gpa;
    std::vector<uint8_t> bytes;
  };

  /// `ram` is a list of {gpa, size} pairs; contents start filled with `fill`.
  explicit FakePhysMemory(const std::vector<std::pair<uint64_t, uint64_t>>& ram, uint8_t fill = 0) {
    for (auto [gpa, size] : ram) {
      regions_.push_back({gpa, std::vector<uint8_t>(size, fill)});
      map_.push_back({gpa, size, XEN_HVM_MEMMAP_TYPE_RAM});
    }
  }

  void setMemoryMap(std::vector<MemMapEntry> map) { map_ = std::move(map); }

  uint8_t* hostPtr(uint64_t gpa, uint64_t len) override {
    if (len == 0) return nullptr;
    for (Region& r : regions_) {
      if (gpa >= r.gpa && gpa - r.gpa < r.bytes.size() && len <= r.bytes.size() - (gpa - r.gpa)) {
        return r.bytes.data() + (gpa - r.gpa);
      }
    }
    return nullptr;
  }

  std::span<const MemMapEntry> memoryMap() const override { return map_; }

  uint64_t ramBytes() const override {
    uint64_t n = 0;
    for (const Region& r : regions_) n += r.bytes.size();
    return n;
  }

  /// Checked access for tests: throws if the range is not backed.
  uint8_t* at(uint64_t gpa, uint64_t len = 1) {
    uint8_t* p = hostPtr(gpa, len);
    if (p == nullptr) throw std::out_of_range("FakePhysMemory: range not backed");
    return p;
  }
  template <class T>
  T get(uint64_t gpa) {
    T v;
    std::memcpy(&v, at(gpa, sizeof v), sizeof v);
    return v;
  }
  template <class T>
  void put(uint64_t gpa, const T& v) {
    std::memcpy(at(gpa, sizeof v), &v, sizeof v);
  }
  std::vector<uint8_t> bytes(uint64_t gpa, uint64_t len) {
    uint8_t* p = at(gpa, len);
    return {p, p + len};
  }

  std::vector<Region>& regions() { return regions_; }

 private:
  std::vector<Region> regions_;
  std::vector<MemMapEntry> map_;
};

}  // namespace smartvm::hv::test
