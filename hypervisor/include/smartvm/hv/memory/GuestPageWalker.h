#pragma once
// Software walk of a guest's own page tables: guest-virtual to guest-physical.
#include <cstdint>

#include "smartvm/Result.h"
#include "smartvm/hv/PhysMemory.h"
#include "smartvm/hv/memory/PagingState.h"

namespace smartvm::hv {

/// Translates guest-virtual (linear) addresses the way the vCPU's MMU would
/// for a supervisor access (the U/S bit is ignored: hypercalls come from
/// CPL0). Modes, chosen from the PagingState:
///  - CR0.PG = 0: no translation; the address is truncated to 32 bits.
///  - 32-bit 2-level paging (4 MiB pages with CR4.PSE).
///  - PAE 3-level paging (2 MiB pages).
///  - 4-level long mode (2 MiB and 1 GiB pages), 5-level with CR4.LA57.
/// A walk reads at most five entries, so it terminates even on cyclic tables,
/// and reads them only through PhysMemory::hostPtr, so never outside RAM.
/// Accessed/dirty bits are not updated.
class GuestPageWalker {
 public:
  GuestPageWalker(PhysMemory& mem, const PagingState& ps) : mem_(mem), ps_(ps) {}

  /// The guest-physical address of `gva`, or EFAULT (message names the gva):
  /// an entry not present, reserved bits set, a write through a read-only
  /// entry while CR0.WP is set, a non-canonical address in long mode, a page
  /// table outside RAM, or an inconsistent paging state. The returned
  /// address itself is not checked against RAM.
  [[nodiscard]] Result<uint64_t> translate(uint64_t gva, Access access) const;

 private:
  Result<uint64_t> readEntry(uint64_t gpa, unsigned size, uint64_t gva, const char* level) const;
  Result<uint64_t> walk32(uint64_t gva, Access access) const;
  Result<uint64_t> walkPae(uint64_t gva, Access access) const;
  Result<uint64_t> walkLong(uint64_t gva, Access access) const;
  Result<uint64_t> walk64(uint64_t table, uint64_t gva, int topLevel, Access access) const;

  PhysMemory& mem_;
  PagingState ps_;
};

/// One-shot form of GuestPageWalker::translate.
[[nodiscard]] Result<uint64_t> translate(PhysMemory& mem, const PagingState& ps, uint64_t gva, Access a);

}  // namespace smartvm::hv
