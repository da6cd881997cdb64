#include "smartvm/hv/grant/GrantOps.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace smartvm::hv {

GrantOps::Mapping GrantOps::map(domid_t grantee, domid_t granter, grant_ref_t ref, bool readonly) {
  Mapping out;
  if (granter == DOMID_SELF) granter = grantee;
  GrantTable* table = lookup_(granter);
  if (table == nullptr) {
    out.status = GNTST_bad_domain;
    return out;
  }
  {
    std::lock_guard lk(m_);
    if (mappings_.size() >= kMaxMappings) {
      out.status = GNTST_no_space;
      return out;
    }
  }
  uint64_t gfn = 0;
  out.status = table->acquire(ref, grantee, readonly, true, gfn);
  if (out.status != GNTST_okay) {
    spdlog::debug("gnttab: d{} map of d{} ref {} refused: {}", grantee, granter, ref, out.status);
    return out;
  }
  out.gfn = gfn;
  out.host = table->ramFrame(gfn);
  std::lock_guard lk(m_);
  out.handle = nextHandleLocked();
  mappings_.emplace(out.handle, Record{grantee, granter, ref, readonly, table, table->serial()});
  return out;
}

grant_handle_t GrantOps::nextHandleLocked() {
  // kMaxMappings is far below 2^32, so a free handle is always near.
  while (mappings_.contains(nextHandle_)) ++nextHandle_;
  return nextHandle_++;
}

GrantStatus GrantOps::unmap(domid_t grantee, grant_handle_t handle) {
  Record rec{};
  {
    std::lock_guard lk(m_);
    auto it = mappings_.find(handle);
    if (it == mappings_.end() || it->second.grantee != grantee) return GNTST_bad_handle;
    rec = it->second;
    mappings_.erase(it);
  }
  // A granter destroyed meanwhile has no flags left to clear; compare the
  // serial only once the lookup says the table is alive.
  GrantTable* now = lookup_(rec.granter);
  if (now == rec.table && now->serial() == rec.serial) rec.table->release(rec.ref, rec.readonly);
  return GNTST_okay;
}

bool GrantOps::granterOf(domid_t grantee, grant_handle_t handle, domid_t& granter) const {
  std::lock_guard lk(m_);
  auto it = mappings_.find(handle);
  if (it == mappings_.end() || it->second.grantee != grantee) return false;
  granter = it->second.granter;
  return true;
}

size_t GrantOps::mappingCount() const {
  std::lock_guard lk(m_);
  return mappings_.size();
}

GrantStatus GrantOps::claim(domid_t caller, const gnttab_copy_t::gnttab_copy_ptr& ptr, bool isGref, bool readonly,
                            const LocalFrames& local, CopyBuf& buf) {
  // Xen's gnttab_copy_lock_domain: only DOMID_SELF may name a raw frame.
  if (!isGref && ptr.domid != DOMID_SELF) return GNTST_permission_denied;
  const domid_t domid = ptr.domid == DOMID_SELF ? caller : ptr.domid;
  if (!isGref) {
    buf.page = local ? local(ptr.u.gmfn) : nullptr;
    return buf.page != nullptr ? GNTST_okay : GNTST_bad_page;
  }
  GrantTable* table = lookup_(domid);
  if (table == nullptr) return GNTST_bad_domain;
  uint64_t gfn = 0;
  const GrantStatus rc = table->acquire(ptr.u.ref, caller, readonly, false, gfn);
  if (rc != GNTST_okay) return rc;
  buf = CopyBuf{table->ramFrame(gfn), table, ptr.u.ref, readonly};
  // A special page the granter unplaced since it was latched has no frame left.
  return buf.page != nullptr ? GNTST_okay : GNTST_bad_page;
}

GrantStatus GrantOps::copyOne(domid_t caller, const gnttab_copy_t& op, const LocalFrames& local) {
  CopyBuf src, dst;
  GrantStatus rc = claim(caller, op.source, (op.flags & GNTCOPY_source_gref) != 0, true, local, src);
  if (rc == GNTST_okay) rc = claim(caller, op.dest, (op.flags & GNTCOPY_dest_gref) != 0, false, local, dst);
  // Xen checks the page bounds once both sides are claimed (gnttab_copy_buf).
  if (rc == GNTST_okay && (op.source.offset + op.len > GuestRam::kPageSize ||
                           op.dest.offset + op.len > GuestRam::kPageSize)) {
    rc = GNTST_bad_copy_arg;
  }
  if (rc == GNTST_okay) std::memmove(dst.page + op.dest.offset, src.page + op.source.offset, op.len);
  if (src.table != nullptr) src.table->release(src.ref, src.readonly);
  if (dst.table != nullptr) dst.table->release(dst.ref, dst.readonly);
  return rc;
}

size_t GrantOps::copy(domid_t caller, std::span<gnttab_copy_t> ops, const LocalFrames& local) {
  size_t good = 0;
  for (gnttab_copy_t& op : ops) {
    op.status = copyOne(caller, op, local);
    if (op.status == GNTST_okay) {
      ++good;
    } else {
      spdlog::debug("gnttab: d{} copy refused: {}", caller, op.status);
    }
  }
  return good;
}

}  // namespace smartvm::hv
