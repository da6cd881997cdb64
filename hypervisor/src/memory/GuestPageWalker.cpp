#include "smartvm/hv/memory/GuestPageWalker.h"

#include <fmt/format.h>

#include <cstring>

namespace smartvm::hv {
namespace {

using namespace paging;

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kPageSizeBit = 1ull << 7;
constexpr uint64_t kNx = 1ull << 63;
// The walker assumes the architectural maximum MAXPHYADDR of 52: it never
// rejects what hardware would accept, and addresses beyond guest RAM fail
// when they are read.
constexpr uint64_t kAddrMask64 = 0x000F'FFFF'FFFF'F000ull;
constexpr uint64_t kPaeHighReserved = 0x7FF0'0000'0000'0000ull;  // bits 62:52
constexpr uint64_t kPdpteReserved = 0xFFF0'0000'0000'01E6ull;   // bits 63:52, 8:5, 2:1
constexpr uint64_t k1GReserved = 0x3FFF'E000ull;                 // bits 29:13
constexpr uint64_t k2MReserved = 0x001F'E000ull;                 // bits 20:13
constexpr uint64_t k4MReserved = 1ull << 21;

const char* levelName(int level) {
  static constexpr const char* kNames[] = {"", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
  return kNames[level];
}

Status fault(uint64_t gva, const std::string& why) {
  return error(EFAULT, fmt::format("gva {:#x}: {}", gva, why));
}

/// Reserved bits of a present 64-bit entry at `level` (PAE or long mode).
uint64_t reservedBits(int level, bool large, bool longMode, bool nxe) {
  uint64_t r = nxe ? 0 : kNx;
  if (!longMode) r |= kPaeHighReserved;
  if (level >= 4) r |= kPageSizeBit;
  else if (large && level == 3) r |= k1GReserved;
  else if (large && level == 2) r |= k2MReserved;
  return r;
}

/// Present and, for writes under CR0.WP, writable: the checks common to every entry.
Status checkAccess(uint64_t entry, const char* level, uint64_t gva, Access access, const PagingState& ps) {
  if (!(entry & kPresent)) return fault(gva, fmt::format("{} not present", level));
  if (access == Access::Write && (ps.cr0 & kCr0Wp) && !(entry & kWritable)) {
    return fault(gva, fmt::format("{} is read-only", level));
  }
  return Status::ok();
}

Status reservedFault(uint64_t gva, const char* level, uint64_t bits) {
  return fault(gva, fmt::format("{} has reserved bits {:#x} set", level, bits));
}

bool isCanonical(uint64_t gva, unsigned bits) {
  const unsigned shift = 64 - bits;
  return static_cast<uint64_t>(static_cast<int64_t>(gva << shift) >> shift) == gva;
}

}  // namespace

Result<uint64_t> GuestPageWalker::translate(uint64_t gva, Access access) const {
  if (!(ps_.cr0 & kCr0Pg)) return gva & 0xFFFF'FFFFull;
  if (ps_.efer & (kEferLma | kEferLme)) {
    if (!(ps_.cr4 & kCr4Pae)) return fault(gva, "inconsistent paging state: long mode without CR4.PAE");
    return walkLong(gva, access);
  }
  if (ps_.cr4 & kCr4Pae) return walkPae(gva, access);
  return walk32(gva, access);
}

Result<uint64_t> GuestPageWalker::readEntry(uint64_t gpa, unsigned size, uint64_t gva, const char* level) const {
  const uint8_t* p = mem_.hostPtr(gpa, size);
  if (p == nullptr) return fault(gva, fmt::format("{} at gpa {:#x} is outside guest RAM", level, gpa));
  uint64_t entry = 0;
  std::memcpy(&entry, p, size);  // little-endian: a 4-byte entry fills the low half
  return entry;
}

Result<uint64_t> GuestPageWalker::walk32(uint64_t gva, Access access) const {
  const uint64_t va = gva & 0xFFFF'FFFFull;
  const uint64_t pdeGpa = (ps_.cr3 & 0xFFFF'F000ull) + ((va >> 22) << 2);
  SMARTVM_ASSIGN_OR_RETURN(uint64_t pde, readEntry(pdeGpa, 4, gva, "PDE"));
  SMARTVM_TRY(checkAccess(pde, "PDE", gva, access, ps_));
  if ((pde & kPageSizeBit) && (ps_.cr4 & kCr4Pse)) {
    if (pde & k4MReserved) return reservedFault(gva, "PDE", pde & k4MReserved);
    // PSE-36/40: PDE bits 20:13 hold physical address bits 39:32.
    return (pde & 0xFFC0'0000ull) | (((pde >> 13) & 0xFF) << 32) | (va & 0x3F'FFFFull);
  }
  const uint64_t pteGpa = (pde & 0xFFFF'F000ull) + (((va >> 12) & 0x3FF) << 2);
  SMARTVM_ASSIGN_OR_RETURN(uint64_t pte, readEntry(pteGpa, 4, gva, "PTE"));
  SMARTVM_TRY(checkAccess(pte, "PTE", gva, access, ps_));
  return (pte & 0xFFFF'F000ull) | (va & 0xFFF);
}

Result<uint64_t> GuestPageWalker::walkPae(uint64_t gva, Access access) const {
  const uint64_t va = gva & 0xFFFF'FFFFull;
  const uint64_t pdpteGpa = (ps_.cr3 & 0xFFFF'FFE0ull) + ((va >> 30) << 3);
  SMARTVM_ASSIGN_OR_RETURN(uint64_t pdpte, readEntry(pdpteGpa, 8, gva, "PDPTE"));
  // A PAE PDPTE has no R/W bit (bit 1 is reserved), so only presence applies.
  SMARTVM_TRY(checkAccess(pdpte, "PDPTE", gva, Access::Read, ps_));
  if (pdpte & kPdpteReserved) return reservedFault(gva, "PDPTE", pdpte & kPdpteReserved);
  return walk64(pdpte & kAddrMask64, gva, 2, access);  // only bits 29:0 are used
}

Result<uint64_t> GuestPageWalker::walkLong(uint64_t gva, Access access) const {
  const bool la57 = ps_.cr4 & kCr4La57;
  if (!isCanonical(gva, la57 ? 57 : 48)) return fault(gva, "non-canonical address");
  return walk64(ps_.cr3 & kAddrMask64, gva, la57 ? 5 : 4, access);
}

Result<uint64_t> GuestPageWalker::walk64(uint64_t table, uint64_t gva, int topLevel, Access access) const {
  const bool longMode = topLevel >= 4;
  const bool nxe = ps_.efer & kEferNxe;
  for (int level = topLevel; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const char* name = levelName(level);
    SMARTVM_ASSIGN_OR_RETURN(uint64_t entry, readEntry(table + (((gva >> shift) & 511) << 3), 8, gva, name));
    SMARTVM_TRY(checkAccess(entry, name, gva, access, ps_));
    const bool large = level > 1 && (entry & kPageSizeBit);
    const uint64_t reserved = entry & reservedBits(level, large, longMode, nxe);
    if (reserved) return reservedFault(gva, name, reserved);
    if (level == 1 || large) {
      const uint64_t offsetMask = (1ull << shift) - 1;
      return (entry & kAddrMask64 & ~offsetMask) | (gva & offsetMask);
    }
    table = entry & kAddrMask64;
  }
  return fault(gva, "page walk ended without a leaf");  // unreachable: level 1 is always a leaf
}

Result<uint64_t> translate(PhysMemory& mem, const PagingState& ps, uint64_t gva, Access a) {
  return GuestPageWalker(mem, ps).translate(gva, a);
}

}  // namespace smartvm::hv
