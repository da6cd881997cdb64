#include "smartvm/dom0/blkback/GrantCopyIo.h"

#include <fmt/format.h>

#include <vector>

namespace smartvm::dom0::blkback {

Status GrantCopyIo::run(std::span<const Seg> segs, bool toGuest) {
  std::vector<GrantClient::CopySeg> req;
  req.reserve(segs.size());
  for (const Seg& s : segs) {
    if (s.len > GrantClient::kPageSize) {
      return error(EINVAL, fmt::format("grant ref {}: {} bytes do not fit one page", s.ref, s.len));
    }
    req.push_back({s.ref, s.offset, static_cast<uint32_t>(s.len), toGuest, s.buf});
  }
  auto st = client_.copy(domid_, req);
  if (!st.isOk()) return st.status();
  for (size_t i = 0; i < segs.size(); ++i) {
    const int16_t rc = (*st)[i];
    if (rc == GNTST_okay) continue;
    return error(GrantClient::gntstErrno(rc),
                 fmt::format("{} on grant ref {} of domain {} (copy {} the guest)", GrantClient::gntstName(rc),
                             segs[i].ref, domid_, toGuest ? "to" : "from"));
  }
  return Status::ok();
}

Status GrantCopyIo::copyFromGuest(grant_ref_t ref, uint32_t offset, void* dst, size_t len) {
  const Seg seg{ref, offset, dst, len};
  return run({&seg, 1}, false);
}

Status GrantCopyIo::copyToGuest(grant_ref_t ref, uint32_t offset, const void* src, size_t len) {
  // The buffer is only read on this path.
  const Seg seg{ref, offset, const_cast<void*>(src), len};
  return run({&seg, 1}, true);
}

Status GrantCopyIo::copyFromGuestSegs(std::span<const Seg> segs) { return run(segs, false); }

Status GrantCopyIo::copyToGuestSegs(std::span<const Seg> segs) { return run(segs, true); }

}  // namespace smartvm::dom0::blkback
