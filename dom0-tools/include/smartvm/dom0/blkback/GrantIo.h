#pragma once
// How the block backend reaches the frontend's pages: only through grant
// references, copied (GNTTABOP_copy) by the hypervisor, which checks each
// ref's owner, target domain and read-only bit. A bad ref fails the request.
#include <cstddef>
#include <cstdint>
#include <cstring>  // Xen's headers use these without including them

#include <xen/grant_table.h>

#include <span>

#include "smartvm/Status.h"

namespace smartvm::dom0::blkback {

class GrantIo {
 public:
  virtual ~GrantIo() = default;
  /// Copies `len` bytes at `offset` of the page granted as `ref` into `dst`.
  [[nodiscard]] virtual Status copyFromGuest(grant_ref_t ref, uint32_t offset, void* dst, size_t len) = 0;
  /// Copies `len` bytes from `src` to `offset` of the page granted as `ref` (needs a writable grant).
  [[nodiscard]] virtual Status copyToGuest(grant_ref_t ref, uint32_t offset, const void* src, size_t len) = 0;

  /// One segment of a batch: `buf` is the destination of copyFromGuestSegs and
  /// the source of copyToGuestSegs.
  struct Seg {
    grant_ref_t ref = 0;
    uint32_t offset = 0;
    void* buf = nullptr;
    size_t len = 0;
  };
  /// Every segment of one blkif request at once: a transport that crosses a
  /// process boundary (GrantCopyIo) makes it one round trip. Fails with the
  /// first failing segment's Status; the other segments may or may not have
  /// been copied. The default loops over the single-segment calls.
  [[nodiscard]] virtual Status copyFromGuestSegs(std::span<const Seg> segs) {
    for (const Seg& s : segs) SMARTVM_TRY(copyFromGuest(s.ref, s.offset, s.buf, s.len));
    return Status::ok();
  }
  [[nodiscard]] virtual Status copyToGuestSegs(std::span<const Seg> segs) {
    for (const Seg& s : segs) SMARTVM_TRY(copyToGuest(s.ref, s.offset, s.buf, s.len));
    return Status::ok();
  }
};

}  // namespace smartvm::dom0::blkback
