#include "smartvm/hv/memory/GuestVirtMemory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

namespace smartvm::hv {
namespace {

constexpr uint64_t kGuestPage = 4096;

/// Bytes from gva to the end of its page, at most `left`.
size_t chunkLen(uint64_t gva, size_t left) {
  return static_cast<size_t>(std::min<uint64_t>(left, kGuestPage - (gva & (kGuestPage - 1))));
}

}  // namespace

Status GuestVirtMemory::checkRange(uint64_t gva, size_t len) const {
  if (len > kMaxAccess) {
    return error(E2BIG, fmt::format("guest access of {} bytes at gva {:#x} exceeds the {} byte limit", len, gva,
                                    kMaxAccess));
  }
  if (len != 0 && gva > UINT64_MAX - (len - 1)) {
    return error(EFAULT, fmt::format("gva {:#x}: {} byte access wraps around the address space", gva, len));
  }
  return Status::ok();
}

Result<uint8_t*> GuestVirtMemory::mapChunk(uint64_t gva, size_t len, Access access) {
  SMARTVM_ASSIGN_OR_RETURN(uint64_t gpa, walker_.translate(gva, access));
  uint8_t* p = mem_.hostPtr(gpa, len);
  if (p == nullptr) return error(EFAULT, fmt::format("gva {:#x}: gpa {:#x} is outside guest RAM", gva, gpa));
  return p;
}

Status GuestVirtMemory::read(uint64_t gva, void* dst, size_t len) {
  SMARTVM_TRY(checkRange(gva, len));
  auto* out = static_cast<uint8_t*>(dst);
  for (size_t done = 0; done < len;) {
    const size_t n = chunkLen(gva + done, len - done);
    SMARTVM_ASSIGN_OR_RETURN(uint8_t* src, mapChunk(gva + done, n, Access::Read));
    std::memcpy(out + done, src, n);
    done += n;
  }
  return Status::ok();
}

Status GuestVirtMemory::write(uint64_t gva, const void* src, size_t len) {
  SMARTVM_TRY(checkRange(gva, len));
  std::vector<std::span<uint8_t>> chunks;
  chunks.reserve(len / kGuestPage + 2);
  for (size_t done = 0; done < len;) {
    const size_t n = chunkLen(gva + done, len - done);
    SMARTVM_ASSIGN_OR_RETURN(uint8_t* dst, mapChunk(gva + done, n, Access::Write));
    chunks.emplace_back(dst, n);
    done += n;
  }
  const auto* in = static_cast<const uint8_t*>(src);
  for (std::span<uint8_t> c : chunks) {
    std::memcpy(c.data(), in, c.size());
    in += c.size();
  }
  return Status::ok();
}

Result<std::string> GuestVirtMemory::readString(uint64_t gva, size_t maxLen) {
  if (maxLen == 0) return error(EINVAL, fmt::format("gva {:#x}: string read with a maximum length of 0", gva));
  const size_t limit = std::min(maxLen, kMaxAccess);
  std::string out;
  uint64_t va = gva;
  for (size_t left = limit; left > 0;) {
    const size_t n = chunkLen(va, left);
    SMARTVM_ASSIGN_OR_RETURN(uint8_t* p, mapChunk(va, n, Access::Read));
    if (const void* nul = std::memchr(p, 0, n)) {
      out.append(reinterpret_cast<const char*>(p), static_cast<const uint8_t*>(nul) - p);
      return out;
    }
    out.append(reinterpret_cast<const char*>(p), n);
    left -= n;
    va += n;
    if (va == 0 && left > 0) return error(EFAULT, fmt::format("gva {:#x}: string wraps around the address space", gva));
  }
  return error(E2BIG, fmt::format("gva {:#x}: no NUL within {} bytes", gva, limit));
}

}  // namespace smartvm::hv
