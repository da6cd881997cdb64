// memory_op: the memory map, reservations, and placing shared_info.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/memory.h>

#include <algorithm>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/RateLimitedLog.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/grant/GrantTable.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {

// Xen's memory_op keeps a continuation extent above the sub-op (xen/common/memory.c);
// the split is internal to Xen, not in the public headers.
constexpr uint64_t kMemopCmdMask = (1u << 6) - 1;

// The BIOS INT 15h E820 record XENMEM_memory_map hands out.
struct __attribute__((packed)) E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};

int64_t memoryMap(HypercallContext& ctx, uint64_t arg) {
  xen_memory_map_t map{};
  if (!ctx.mem.readObj(arg, map).isOk()) return -EFAULT;
  const auto entries = ctx.domain.ram().memoryMap();
  const unsigned n = std::min<unsigned>(map.nr_entries, static_cast<unsigned>(entries.size()));
  const uint64_t buffer = reinterpret_cast<uint64_t>(map.buffer.p);
  for (unsigned i = 0; i < n; ++i) {
    const E820Entry e{entries[i].addr, entries[i].size, entries[i].type};
    if (!ctx.mem.write(buffer + i * sizeof(E820Entry), &e, sizeof(e)).isOk()) return -EFAULT;
  }
  map.nr_entries = n;
  return ctx.mem.writeObj(arg, map).isOk() ? 0 : -EFAULT;
}

int64_t reservation(HypercallContext& ctx, uint64_t arg) {
  domid_t domid = 0;
  if (!ctx.mem.readObj(arg, domid).isOk()) return -EFAULT;
  if (int64_t rc = checkSelfDomid(ctx.domain, domid)) return rc;
  return static_cast<int64_t>(ctx.domain.ram().ramBytes() / GuestRam::kPageSize);
}

// Xen's gnttab_map_frame: a v1 table has no status frames, so an idx with
// XENMAPIDX_grant_table_status set is simply out of range (-EINVAL).
int64_t addGrantFrame(HypercallContext& ctx, const xen_add_to_physmap_t& x) {
  GrantTable* gt = ctx.domain.grantTable();
  Status s = gt != nullptr ? gt->placeFrame(x.idx, x.gpfn) : error(ENOSYS, "no grant table");
  if (!s) {
    if (shouldLog(ctx.domain.counters().refusedRequests)) {
      ctx.domain.log().warn("vCPU{}: grant frame {:#x} at gpfn {:#x} refused: {}", ctx.vcpu.id(), x.idx, x.gpfn,
                            s.toString());
    }
    return -EINVAL;
  }
  return 0;
}

int64_t addToPhysmap(HypercallContext& ctx, uint64_t arg) {
  xen_add_to_physmap_t x{};
  if (!ctx.mem.readObj(arg, x).isOk()) return -EFAULT;
  if (int64_t rc = checkSelfDomid(ctx.domain, x.domid)) return rc;
  if (x.space == XENMAPSPACE_grant_table) return addGrantFrame(ctx, x);
  if (x.space != XENMAPSPACE_shared_info) {
    if (shouldLog(ctx.domain.counters().refusedRequests)) {
      ctx.domain.log().warn("vCPU{}: add_to_physmap space {} not supported: -EINVAL", ctx.vcpu.id(), x.space);
    }
    return -EINVAL;
  }
  if (x.idx != 0) return -EINVAL;  // there is one shared_info frame
  Status s = ctx.domain.sharedInfo().placeAt(x.gpfn);
  if (!s) {
    ctx.domain.log().warn("vCPU{}: shared_info at gpfn {:#x} refused: {}", ctx.vcpu.id(), x.gpfn, s.toString());
    return -EINVAL;
  }
  return 0;
}

}  // namespace

int64_t doMemoryOp(HypercallContext& ctx, const HypercallArgs& a) {
  switch (a[0] & kMemopCmdMask) {
    case XENMEM_memory_map: return memoryMap(ctx, a[1]);
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation: return reservation(ctx, a[1]);
    case XENMEM_maximum_ram_page: {
      // The last RAM frame: reserved entries (the special page region) are not RAM.
      uint64_t end = 0;
      for (const MemMapEntry& e : ctx.domain.ram().memoryMap()) {
        if (e.type == XEN_HVM_MEMMAP_TYPE_RAM) end = std::max(end, e.addr + e.size);
      }
      return end == 0 ? 0 : static_cast<int64_t>(end / GuestRam::kPageSize - 1);
    }
    case XENMEM_add_to_physmap: return addToPhysmap(ctx, a[1]);
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
