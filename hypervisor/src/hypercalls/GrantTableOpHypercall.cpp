// grant_table_op, the granter's own sub-ops (Xen's do_grant_table_op): table
// size, setup and version. Grant tables are v1 only, as in Xen with
// max_grant_version = 1. Mapping and copying foreign grants from a guest
// (driver domains) is not offered: those sub-ops return -ENOSYS.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/grant_table.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/RateLimitedLog.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/grant/GrantTable.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {

// Xen keeps a continuation argument above the sub-op (xen/common/grant_table.c,
// GNTTABOP_CONTINUATION_ARG_SHIFT); it is internal to Xen, not in the public headers.
constexpr uint32_t kCmdMask = (1u << 12) - 1;

// Rate-limited: a guest can repeat a bad call as often as it likes.
void refuse(HypercallContext& ctx, const char* what, int64_t rc, uint32_t detail = 0) {
  if (shouldLog(ctx.domain.counters().refusedRequests)) {
    ctx.domain.log().warn("vCPU{}: grant_table_op {} ({}) refused: {}", ctx.vcpu.id(), what, detail, rc);
  }
}

// What an unprivileged caller naming `dom` gets in a GNTST status: only itself
// may be named. Xen says GNTST_bad_domain for a domain that does not exist and
// GNTST_permission_denied (XSM) for one that does; a guest cannot see other
// domains here, so ids below the reserved range get the latter.
GrantStatus domainStatus(const Domain& caller, domid_t dom) {
  if (dom == DOMID_SELF || dom == caller.domid()) return GNTST_okay;
  return dom >= DOMID_FIRST_RESERVED ? GNTST_bad_domain : GNTST_permission_denied;
}

int64_t setupTable(HypercallContext& ctx, uint64_t uop) {
  gnttab_setup_table_t op{};
  if (!ctx.mem.readObj(uop, op).isOk()) return -EFAULT;
  GrantTable& gt = *ctx.domain.grantTable();
  op.status = domainStatus(ctx.domain, op.dom);
  // Xen: more than max_grant_frames is GNTST_general_error.
  if (op.status == GNTST_okay && (op.nr_frames > gt.maxFrames() || !gt.grow(op.nr_frames).isOk())) {
    op.status = GNTST_general_error;
  }
  // A translated guest gets the gfns its frames sit at (Xen's M2P lookup): ~0 until placed.
  const uint64_t list = reinterpret_cast<uint64_t>(op.frame_list.p);
  for (uint32_t i = 0; op.status == GNTST_okay && i < op.nr_frames; ++i) {
    const xen_pfn_t gfn = gt.frameGfn(i);
    if (!ctx.mem.write(list + uint64_t{i} * sizeof(gfn), &gfn, sizeof(gfn)).isOk()) op.status = GNTST_bad_virt_addr;
  }
  if (op.status != GNTST_okay) refuse(ctx, "setup_table nr_frames", op.status, op.nr_frames);
  return ctx.mem.writeObj(uop + offsetof(gnttab_setup_table_t, status), op.status).isOk() ? 0 : -EFAULT;
}

int64_t querySize(HypercallContext& ctx, uint64_t uop) {
  gnttab_query_size_t op{};
  if (!ctx.mem.readObj(uop, op).isOk()) return -EFAULT;
  op.status = domainStatus(ctx.domain, op.dom);
  if (op.status == GNTST_okay) {
    op.nr_frames = ctx.domain.grantTable()->nrFrames();
    op.max_nr_frames = ctx.domain.grantTable()->maxFrames();
  } else {
    refuse(ctx, "query_size dom", op.status, op.dom);
  }
  return ctx.mem.writeObj(uop, op).isOk() ? 0 : -EFAULT;
}

int64_t setVersion(HypercallContext& ctx, uint64_t uop) {
  gnttab_set_version_t op{};
  if (!ctx.mem.readObj(uop, op).isOk()) return -EFAULT;
  // Xen's gnttab_set_version: -EINVAL for unknown versions, and -ENOSYS for 2
  // when v2 is disabled ("behave as before set_version was introduced").
  int64_t rc = 0;
  if (op.version != 1 && op.version != 2) rc = -EINVAL;
  if (op.version == 2) rc = -ENOSYS;
  if (rc != 0) refuse(ctx, "set_version", rc, op.version);
  op.version = GrantTable::version();  // Xen always reports the version in force
  return ctx.mem.writeObj(uop, op).isOk() ? rc : -EFAULT;
}

int64_t getVersion(HypercallContext& ctx, uint64_t uop) {
  gnttab_get_version_t op{};
  if (!ctx.mem.readObj(uop, op).isOk()) return -EFAULT;
  if (int64_t rc = checkSelfDomid(ctx.domain, op.dom)) {
    refuse(ctx, "get_version dom", rc, op.dom);
    return rc;
  }
  op.version = GrantTable::version();
  return ctx.mem.writeObj(uop + offsetof(gnttab_get_version_t, version), op.version).isOk() ? 0 : -EFAULT;
}

}  // namespace

int64_t doGrantTableOp(HypercallContext& ctx, const HypercallArgs& a) {
  // Xen's prototype takes unsigned int cmd and count: the upper halves are not ours to read.
  const auto cmd = static_cast<uint32_t>(a[0]);
  const auto count = static_cast<uint32_t>(a[2]);
  if (static_cast<int32_t>(count) < 0) return -EINVAL;
  if ((cmd & ~kCmdMask) != 0 && (cmd & kCmdMask) != GNTTABOP_cache_flush) return -EINVAL;
  if (ctx.domain.grantTable() == nullptr) return -ENOSYS;  // not booted: nothing to manage
  switch (cmd & kCmdMask) {
    // These four take exactly one struct, as in Xen.
    case GNTTABOP_setup_table: return count == 1 ? setupTable(ctx, a[1]) : -EINVAL;
    case GNTTABOP_query_size: return count == 1 ? querySize(ctx, a[1]) : -EINVAL;
    case GNTTABOP_set_version: return count == 1 ? setVersion(ctx, a[1]) : -EINVAL;
    case GNTTABOP_get_version: return count == 1 ? getVersion(ctx, a[1]) : -EINVAL;
    default:
      if (shouldLog(ctx.domain.counters().refusedRequests)) {
        ctx.domain.log().warn("vCPU{}: grant_table_op {} not supported: -ENOSYS", ctx.vcpu.id(), cmd & kCmdMask);
      }
      return -ENOSYS;
  }
}

}  // namespace smartvm::hv
