#pragma once
// How the block backend reaches the frontend's pages: only through grant
// references, copied (GNTTABOP_copy) by the hypervisor, which checks each
// ref's owner, target domain and read-only bit. A bad ref fails the request.
#include <cstddef>
#include <cstdint>
#include <cstring>  // Xen's headers use these without including them

#include <xen/grant_table.h>

#include "smartvm/Status.h"

namespace smartvm::dom0::blkback {

class GrantIo {
 public:
  virtual ~GrantIo() = default;
  /// Copies `len` bytes at `offset` of the page granted as `ref` into `dst`.
  [[nodiscard]] virtual Status copyFromGuest(grant_ref_t ref, uint32_t offset, void* dst, size_t len) = 0;
  /// Copies `len` bytes from `src` to `offset` of the page granted as `ref` (needs a writable grant).
  [[nodiscard]] virtual Status copyToGuest(grant_ref_t ref, uint32_t offset, const void* src, size_t len) = 0;
};

}  // namespace smartvm::dom0::blkback
