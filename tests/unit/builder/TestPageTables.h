#pragma once
// Builds guest page tables in FakePhysMemory for the walker tests.
#include <cstdint>
#include <stdexcept>

#include "FakePhysMemory.h"
#include "smartvm/hv/memory/PagingState.h"

namespace smartvm::hv::test {

enum class PagingMode { Bits32, Pae, Long4, Long5 };

inline constexpr uint64_t kP = 1, kRW = 2, kPS = 0x80;
inline constexpr uint64_t k4K = 1ull << 12, k2M = 1ull << 21, k4M = 1ull << 22, k1G = 1ull << 30;

/// Allocates table pages upward from `pool` (which must be RAM) and maps
/// pages of 4 KiB, 2/4 MiB or 1 GiB. Intermediate entries are P|RW (a PAE
/// PDPTE just P, as the architecture requires).
class TestPageTables {
 public:
  TestPageTables(FakePhysMemory& mem, PagingMode mode, uint64_t pool) : mem_(mem), mode_(mode), next_(pool) {
    root_ = newTable();
  }

  PagingState state(bool wp = true) const {
    using namespace paging;
    PagingState ps{kCr0Pg | 1 | (wp ? kCr0Wp : 0), root_, 0, 0};
    if (mode_ == PagingMode::Bits32) ps.cr4 = kCr4Pse;
    if (mode_ != PagingMode::Bits32) ps.cr4 |= kCr4Pae;
    if (mode_ == PagingMode::Long4 || mode_ == PagingMode::Long5) ps.efer = kEferLme | kEferLma;
    if (mode_ == PagingMode::Long5) ps.cr4 |= kCr4La57;
    return ps;
  }

  uint64_t root() const { return root_; }

  /// Maps gva -> gpa with a page of `size`; `flags` go into the leaf entry.
  void map(uint64_t gva, uint64_t gpa, uint64_t size = k4K, uint64_t flags = kP | kRW) {
    const int leaf = leafLevel(size);
    uint64_t table = root_;
    for (int level = top(); level > leaf; --level) {
      const uint64_t at = entryAddr(table, gva, level);
      uint64_t e = read(at);
      if (!(e & kP)) {
        e = newTable() | kP | (isPaePdpt(level) ? 0 : kRW);
        write(at, e);
      }
      table = addrOf(e);
    }
    write(entryAddr(table, gva, leaf), leafEntry(gpa, flags, leaf));
  }

  /// Guest-physical address of the entry at `level` (1 = PTE) on gva's walk.
  uint64_t entryGpa(uint64_t gva, int level) {
    uint64_t table = root_;
    for (int l = top(); l > level; --l) table = addrOf(read(entryAddr(table, gva, l)));
    return entryAddr(table, gva, level);
  }

  uint64_t read(uint64_t at) { return mode_ == PagingMode::Bits32 ? mem_.get<uint32_t>(at) : mem_.get<uint64_t>(at); }
  void write(uint64_t at, uint64_t e) {
    if (mode_ == PagingMode::Bits32) mem_.put<uint32_t>(at, static_cast<uint32_t>(e));
    else mem_.put<uint64_t>(at, e);
  }
  /// Sets and clears bits in the entry at `level` on gva's walk.
  void patch(uint64_t gva, int level, uint64_t set, uint64_t clear = 0) {
    const uint64_t at = entryGpa(gva, level);
    write(at, (read(at) | set) & ~clear);
  }

  uint64_t newTable() {
    const uint64_t t = next_;
    next_ += k4K;
    std::memset(mem_.at(t, k4K), 0, k4K);
    return t;
  }

 private:
  int top() const {
    switch (mode_) {
      case PagingMode::Bits32: return 2;
      case PagingMode::Pae: return 3;
      case PagingMode::Long4: return 4;
      case PagingMode::Long5: return 5;
    }
    return 0;
  }
  bool isPaePdpt(int level) const { return mode_ == PagingMode::Pae && level == 3; }
  int leafLevel(uint64_t size) const {
    if (size == k4K) return 1;
    if (size == k2M || size == k4M) return 2;
    if (size == k1G) return 3;
    throw std::invalid_argument("page size");
  }
  uint64_t entryAddr(uint64_t table, uint64_t gva, int level) const {
    if (mode_ == PagingMode::Bits32) return table + (((gva >> (12 + 10 * (level - 1))) & 0x3ff) << 2);
    return table + (((gva >> (12 + 9 * (level - 1))) & 0x1ff) << 3);
  }
  uint64_t addrOf(uint64_t e) const {
    return mode_ == PagingMode::Bits32 ? (e & 0xfffff000ull) : (e & 0x000ffffffffff000ull);
  }
  uint64_t leafEntry(uint64_t gpa, uint64_t flags, int leaf) const {
    if (leaf == 1) return gpa | flags;
    if (mode_ == PagingMode::Bits32) return (gpa & 0xffc00000ull) | (((gpa >> 32) & 0xff) << 13) | flags | kPS;
    return gpa | flags | kPS;
  }

  FakePhysMemory& mem_;
  PagingMode mode_;
  uint64_t next_;
  uint64_t root_;
};

}  // namespace smartvm::hv::test
