#pragma once
// GrantIo for one frontend domain over dom0's grant device (GrantClient): every
// copy is a GNTTABOP_copy done by smartvm-hv, which checks each ref's owner,
// grantee and read-only bit; the backend never maps guest memory. A batch
// (one blkif request's segments) is one round trip on the control socket.
#include <cstdint>

#include "smartvm/dom0/blkback/GrantIo.h"
#include "smartvm/dom0/grant/GrantClient.h"

namespace smartvm::dom0::blkback {

class GrantCopyIo final : public GrantIo {
 public:
  /// `client` must outlive this object; it may be shared with other users.
  GrantCopyIo(GrantClient& client, uint32_t frontendDomid) : client_(client), domid_(frontendDomid) {}

  [[nodiscard]] Status copyFromGuest(grant_ref_t ref, uint32_t offset, void* dst, size_t len) override;
  [[nodiscard]] Status copyToGuest(grant_ref_t ref, uint32_t offset, const void* src, size_t len) override;
  [[nodiscard]] Status copyFromGuestSegs(std::span<const Seg> segs) override;
  [[nodiscard]] Status copyToGuestSegs(std::span<const Seg> segs) override;

  uint32_t domid() const { return domid_; }

 private:
  /// One GrantClient::copy; a non-okay GNTST fails with its name and ref.
  Status run(std::span<const Seg> segs, bool toGuest);

  GrantClient& client_;
  uint32_t domid_;
};

}  // namespace smartvm::dom0::blkback
