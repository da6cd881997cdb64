#pragma once
// The control registers that decide how a vCPU translates linear addresses.
#include <cstdint>

namespace smartvm::hv {

/// Paging-relevant control registers, as read from the vCPU's sregs.
struct PagingState {
  uint64_t cr0, cr3, cr4, efer;
};

/// Kind of access a translation is checked for (always supervisor mode).
enum class Access { Read, Write };

/// Architectural bits of PagingState the walker looks at.
namespace paging {
inline constexpr uint64_t kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr0Wp = 1ull << 16;
inline constexpr uint64_t kCr4Pse = 1ull << 4;
inline constexpr uint64_t kCr4Pae = 1ull << 5;
inline constexpr uint64_t kCr4La57 = 1ull << 12;
inline constexpr uint64_t kEferLme = 1ull << 8;
inline constexpr uint64_t kEferLma = 1ull << 10;
inline constexpr uint64_t kEferNxe = 1ull << 11;
}  // namespace paging

}  // namespace smartvm::hv
