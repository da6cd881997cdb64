#pragma once
// Copying to and from guest-virtual addresses (hypercall arguments), the
// counterpart of Xen's hvm_copy_{from,to}_guest_linear.
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "smartvm/Result.h"
#include "smartvm/Status.h"
#include "smartvm/hv/PhysMemory.h"
#include "smartvm/hv/memory/GuestPageWalker.h"

namespace smartvm::hv {

/// Guest memory as one vCPU sees it at the moment of a hypercall: accesses
/// are split at 4 KiB page boundaries and each page is translated through
/// the guest's page tables (supervisor access). Cheap to construct; holds a
/// copy of the PagingState, so build a new one when the vCPU's state changes.
class GuestVirtMemory {
 public:
  /// Largest single access; longer ones fail with E2BIG before touching memory.
  static constexpr size_t kMaxAccess = 64u << 20;

  GuestVirtMemory(PhysMemory& mem, const PagingState& ps) : mem_(mem), walker_(mem, ps) {}

  /// Copies [gva, gva + len) into dst. EFAULT if any byte is unmapped or
  /// outside RAM (dst may then be partly written); E2BIG if len > kMaxAccess.
  [[nodiscard]] Status read(uint64_t gva, void* dst, size_t len);

  /// Copies src to [gva, gva + len). Every page is translated and checked
  /// for writing first, so on EFAULT guest memory is unchanged.
  [[nodiscard]] Status write(uint64_t gva, const void* src, size_t len);

  /// Reads one trivially copyable object.
  template <class T>
  [[nodiscard]] Status readObj(uint64_t gva, T& out) {
    static_assert(std::is_trivially_copyable_v<T>, "readObj needs a trivially copyable type");
    return read(gva, &out, sizeof(T));
  }

  /// Writes one trivially copyable object.
  template <class T>
  [[nodiscard]] Status writeObj(uint64_t gva, const T& in) {
    static_assert(std::is_trivially_copyable_v<T>, "writeObj needs a trivially copyable type");
    return write(gva, &in, sizeof(T));
  }

  /// Reads a NUL-terminated string of fewer than maxLen characters (maxLen
  /// counts the NUL and is capped at kMaxAccess). Pages after the NUL are
  /// never touched. EFAULT on an unmapped byte, E2BIG if no NUL within
  /// maxLen bytes, EINVAL if maxLen is 0.
  [[nodiscard]] Result<std::string> readString(uint64_t gva, size_t maxLen);

 private:
  /// Host pointer to `len` bytes at `gva` that lie within one guest page.
  Result<uint8_t*> mapChunk(uint64_t gva, size_t len, Access access);
  /// E2BIG / EFAULT for lengths the access loops must not attempt.
  Status checkRange(uint64_t gva, size_t len) const;

  PhysMemory& mem_;
  GuestPageWalker walker_;
};

}  // namespace smartvm::hv
