// The control socket's grant operations for dom0 backends: GNTTABOP_map_grant_ref,
// unmap_grant_ref and copy with domain 0 (the host) as the grantee. A mapping is
// handed out as a descriptor of the granter's memfd and the page's offset in
// it, so dom0's mmap shares the very page the guest sees. Granters are pinned
// (Domain::pinMemory) for the length of each operation, so a domain destroyed
// meanwhile waits for it; dom0's mmaps keep the memfd pages alive after that.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <cstddef>
#include <cstring>
#include <xen/grant_table.h>
#include <xen/xen.h>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <shared_mutex>
#include <vector>

#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {

namespace pb = smartvm::control::v1;

namespace {

constexpr domid_t kDom0 = 0;
/// Per-request limits of grant_copy. Xen's gntdev takes 16 segments per copy
/// ioctl; a blkif request with indirect segments needs 256 pages, so that is
/// the segment limit, and 1 MiB (256 full pages) bounds each direction's
/// bytes and keeps every answer far below MessageSocket::kMaxFrame.
constexpr size_t kMaxCopySegs = 256;
constexpr uint64_t kMaxCopyBytes = 1u << 20;
/// Mappings one connection may hold (Linux gntdev's default limit is 64 Ki pages).
constexpr size_t kMaxMappingsPerConnection = 1u << 16;
constexpr uint32_t kPage = GuestRam::kPageSize;

pb::Response fail(int code, std::string why) {
  pb::Response r;
  r.set_error_code(code);
  r.set_error(std::move(why));
  return r;
}

/// A granter held for one operation: alive (the shared_ptr) and not torn
/// down (the pin). Members in this order so the pin is released first.
struct PinnedGranter {
  std::shared_ptr<Domain> domain;
  std::shared_lock<std::shared_mutex> pin;
  GrantTable* table() const { return domain ? domain->grantTable() : nullptr; }
};

PinnedGranter pinGranter(Hypervisor& hv, uint32_t domid) {
  PinnedGranter p;
  // Wider domids would alias real ones once narrowed to domid_t; reserved ones
  // (DOMID_SELF, ...) name no granter dom0 can map from.
  if (domid == kDom0 || domid >= DOMID_FIRST_RESERVED) return p;
  p.domain = hv.find(domid);
  if (p.domain) p.pin = p.domain->pinMemory();
  return p;
}

/// GNTTABOP_unmap_grant_ref of a dom0 handle, its granter pinned.
GrantStatus unmapHandle(Hypervisor& hv, uint32_t handle) {
  domid_t granter = 0;
  if (handle > 0xffffu || !hv.grantOps().granterOf(kDom0, static_cast<grant_handle_t>(handle), granter)) {
    return GNTST_bad_handle;
  }
  PinnedGranter g = pinGranter(hv, granter);
  return hv.grantOps().unmap(kDom0, static_cast<grant_handle_t>(handle));
}

/// The descriptor handed to dom0 for a mapping. A read-only one is a new
/// O_RDONLY open of the memfd, so dom0 cannot mmap it writable (nor truncate
/// it); a writable one is a dup.
UniqueFd mappingFd(int memfd, bool readonly) {
  if (!readonly) return UniqueFd(::fcntl(memfd, F_DUPFD_CLOEXEC, 0));
  const std::string path = fmt::format("/proc/self/fd/{}", memfd);
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

}  // namespace

pb::Response ControlServer::grantOp(const pb::Request& req, Dom0PortOwner& owner, std::vector<UniqueFd>& fds) {
  Hypervisor& hv = hv_;
  switch (req.op_case()) {
    case pb::Request::kGrantMap: {
      const pb::GrantMap& op = req.grant_map();
      pb::Response r;
      pb::GrantMapped* out = r.mutable_grant_mapped();
      if (owner.grants().count() >= kMaxMappingsPerConnection) {
        out->set_status(GNTST_no_space);
        return r;
      }
      PinnedGranter g = pinGranter(hv, op.domid());
      if (g.table() == nullptr) {
        out->set_status(GNTST_bad_domain);
        return r;
      }
      const GrantOps::Mapping m =
          hv.grantOps().map(kDom0, static_cast<domid_t>(op.domid()), op.ref(), op.readonly());
      out->set_status(m.status);
      if (m.status != GNTST_okay) return r;
      // Both under the pin: the page's place in the memfd cannot change
      // except by the granter moving a special page of its own.
      auto offset = g.domain->ram().fdOffset(m.gfn * kPage);
      if (!offset) {
        (void)hv.grantOps().unmap(kDom0, m.handle);
        out->set_status(GNTST_bad_page);
        return r;
      }
      UniqueFd fd = mappingFd(g.domain->ram().fd(), op.readonly());
      if (!fd.valid()) {
        const int err = errno;
        (void)hv.grantOps().unmap(kDom0, m.handle);
        return fail(err, fmt::format("cannot hand out domain {}'s memory: {}", op.domid(), std::strerror(err)));
      }
      owner.grants().add(m.handle, [&hv](uint32_t h) { (void)unmapHandle(hv, h); });
      out->set_handle(m.handle);
      out->set_offset(*offset);
      fds.push_back(std::move(fd));
      r.set_fd_count(1);
      return r;
    }
    case pb::Request::kGrantUnmap: {
      const uint32_t handle = req.grant_unmap().handle();
      pb::Response r;
      // Another connection's handle is as unknown here as in another gntdev.
      GrantStatus st = GNTST_bad_handle;
      if (owner.grants().owns(handle)) {
        st = unmapHandle(hv, handle);
        owner.grants().remove(handle);
      }
      r.mutable_grant_copied()->add_status(st);
      return r;
    }
    case pb::Request::kGrantCopy: return grantCopy(req.grant_copy());
    default: return fail(EINVAL, "not a grant operation");
  }
}

pb::Response ControlServer::grantCopy(const pb::GrantCopy& op) {
  const auto n = static_cast<size_t>(op.segs_size());
  if (n > kMaxCopySegs) {
    return fail(EINVAL, fmt::format("grant_copy carries {} segments; the limit is {} per request", n, kMaxCopySegs));
  }
  // Check the whole request before touching any guest page: a malformed one
  // does nothing. Page bounds are per segment (GNTST_bad_copy_arg), as in Xen.
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const pb::GrantCopySeg& s = op.segs(static_cast<int>(i));
    if (s.to_guest() && s.data().size() != s.len()) {
      return fail(EINVAL, fmt::format("grant_copy segment {} carries {} bytes for len {}", i, s.data().size(),
                                      s.len()));
    }
    if (!s.to_guest() && !s.data().empty()) {
      return fail(EINVAL, fmt::format("grant_copy segment {} reads from the guest but carries data", i));
    }
    total += s.len();
  }
  if (total > kMaxCopyBytes) {
    return fail(EINVAL, fmt::format("grant_copy moves {} bytes; the limit is {} per request", total, kMaxCopyBytes));
  }

  pb::Response r;
  pb::GrantCopied* out = r.mutable_grant_copied();
  std::vector<GrantStatus> status(n, GNTST_okay);
  // The bounce buffer is the "local" side of every op: segment i's bytes at
  // start[i], named to GrantOps as local frame i at offset 0.
  std::vector<uint8_t> bounce(total);
  std::vector<size_t> start(n, 0);
  std::vector<gnttab_copy_t> ops;
  std::vector<size_t> opSeg;  // ops[k] is segment opSeg[k]
  ops.reserve(n);
  opSeg.reserve(n);
  PinnedGranter g = pinGranter(hv_, op.domid());
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    const pb::GrantCopySeg& s = op.segs(static_cast<int>(i));
    start[i] = at;
    at += s.len();
    if (g.table() == nullptr) {
      status[i] = GNTST_bad_domain;
      continue;
    }
    // Checked here because gnttab_copy_t's offset and len are 16 bits wide.
    if (s.offset() > kPage || s.len() > kPage - s.offset()) {
      status[i] = GNTST_bad_copy_arg;
      continue;
    }
    gnttab_copy_t c{};
    gnttab_copy_t::gnttab_copy_ptr& gref = s.to_guest() ? c.dest : c.source;
    gnttab_copy_t::gnttab_copy_ptr& local = s.to_guest() ? c.source : c.dest;
    gref.u.ref = s.ref();
    gref.domid = static_cast<domid_t>(op.domid());
    gref.offset = static_cast<uint16_t>(s.offset());
    local.u.gmfn = i;
    local.domid = DOMID_SELF;
    local.offset = 0;
    c.len = static_cast<uint16_t>(s.len());
    c.flags = s.to_guest() ? GNTCOPY_dest_gref : GNTCOPY_source_gref;
    if (s.to_guest() && s.len() != 0) std::memcpy(bounce.data() + start[i], s.data().data(), s.len());
    ops.push_back(c);
    opSeg.push_back(i);
  }
  if (!ops.empty()) {
    const GrantOps::LocalFrames local = [&](xen_pfn_t gmfn) -> uint8_t* {
      // A zero-length segment at the end of the buffer still needs a pointer.
      return gmfn < n ? bounce.data() + start[gmfn] : nullptr;
    };
    // bounce.data() may be null when total is 0: give empty copies a byte.
    if (bounce.empty()) bounce.resize(1);
    (void)hv_.grantOps().copy(kDom0, ops, local);
    for (size_t k = 0; k < ops.size(); ++k) status[opSeg[k]] = ops[k].status;
  }
  for (size_t i = 0; i < n; ++i) {
    const pb::GrantCopySeg& s = op.segs(static_cast<int>(i));
    out->add_status(status[i]);
    if (status[i] == GNTST_okay && !s.to_guest()) {
      out->add_data(reinterpret_cast<const char*>(bounce.data() + start[i]), s.len());
    } else {
      out->add_data();
    }
  }
  return r;
}

}  // namespace smartvm::hv
