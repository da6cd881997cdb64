#include "kernel/GrantTable.h"

#include "kernel/ConsoleRing.h"
#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"
#include "kernel/MemoryMap.h"

namespace gnttab {
namespace {

constexpr uint64_t kPage = 4096;
// Candidates for the table frame: the MMIO hole below 4 GiB (inside the
// identity map), where Linux's HVM guests put theirs (the platform PCI BAR).
constexpr uint64_t kFirstCandidate = 0xF0000000;
constexpr uint64_t kLastCandidate = 0xC0000000;
constexpr uint64_t kCandidateStep = 0x100000;
constexpr uint32_t kWords = kEntries / 64;

constinit grant_entry_v1_t* gTable = nullptr;
constinit uint64_t gUsed[kWords]{};     // entries handed out
constinit uint64_t gLeakedMask[kWords]{};  // entries a remote still maps
constinit uint64_t gLeaked = 0;
constinit uint32_t gInUse = 0;
constinit uint32_t gCapacity = 0;  // entries in the frames placed

bool inMemoryMap(uint64_t gpa) {
  const MemoryMap& map = memoryMap();
  for (size_t i = 0; i < map.size(); ++i) {
    if (gpa >= map[i].addr && gpa - map[i].addr < map[i].size) return true;
  }
  return false;
}

bool taken(uint64_t gpa) {
  uint64_t storePfn = 0;
  xen::getHvmParam(HVM_PARAM_STORE_PFN, storePfn);
  // Every frame the table may grow to lies in this step.
  for (uint64_t at = gpa; at < gpa + uint64_t{kMaxFrames} * kPage; at += kPage) {
    if (inMemoryMap(at) || at / kPage == consolering::pfn() || at / kPage == storePfn) return true;
  }
  return false;
}

uint64_t bit(uint32_t ref) { return uint64_t{1} << (ref % 64); }

}  // namespace

long init(Line& why) {
  if (gTable != nullptr) return 0;
  uint64_t gpa = kFirstCandidate;
  while (gpa >= kLastCandidate && taken(gpa)) gpa -= kCandidateStep;
  if (gpa < kLastCandidate) {
    why.str("grant table: no free guest-physical address below 4 GiB");
    return -XEN_ENOMEM;
  }
  // Frame 0 must be placed; later frames follow it contiguously while the
  // hypervisor allows (its max_grant_frames), so the table is one array.
  for (uint32_t idx = 0; idx < kMaxFrames; ++idx) {
    xen_add_to_physmap request{};
    request.domid = DOMID_SELF;
    request.space = XENMAPSPACE_grant_table;
    request.idx = idx;
    request.gpfn = gpa / kPage + idx;
    long rc = xen::memoryOp(XENMEM_add_to_physmap, &request);
    if (rc != 0 && idx == 0) {
      why.str("grant table: XENMEM_add_to_physmap(grant_table, gpfn ").hex(gpa / kPage).str(") rc=").sdec(rc);
      return rc;
    }
    if (rc != 0) break;
    gCapacity += kEntriesPerFrame;
  }
  gTable = reinterpret_cast<grant_entry_v1_t*>(gpa);
  // The reserved entries (console, xenstore for the toolstack) are not ours.
  for (uint32_t r = 0; r < GNTTAB_NR_RESERVED_ENTRIES; ++r) gUsed[r / 64] |= bit(r);
  return 0;
}

bool ready() { return gTable != nullptr; }

uint64_t frameGpa() { return reinterpret_cast<uintptr_t>(gTable); }

long grantAccess(domid_t domid, uint64_t gfn, bool readonly) {
  if (gTable == nullptr) return -XEN_ENODEV;
  if (gfn > UINT32_MAX) return -XEN_EINVAL;  // v1 frames are 32 bits
  for (uint32_t w = 0; w < gCapacity / 64; ++w) {
    const uint64_t free = ~(gUsed[w] | gLeakedMask[w]);
    if (free == 0) continue;
    const uint32_t ref = w * 64 + cpu::lowestBit(free);
    gUsed[w] |= bit(ref);
    ++gInUse;
    grant_entry_v1_t& e = gTable[ref];
    e.domid = domid;
    e.frame = static_cast<uint32_t>(gfn);
    // Xen's rule: domid and frame must be visible before the flags that
    // make the entry valid (Linux's gnttab_update_entry_v1 has a wmb here).
    const uint16_t flags = static_cast<uint16_t>(GTF_permit_access | (readonly ? GTF_readonly : 0));
    __atomic_store_n(&e.flags, flags, __ATOMIC_RELEASE);
    return static_cast<long>(ref);
  }
  return -XEN_ENOSPC;
}

bool endAccess(grant_ref_t ref) {
  if (gTable == nullptr || ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= gCapacity) return false;
  if ((gUsed[ref / 64] & bit(ref)) == 0) return false;
  // Linux's gnttab_end_foreign_access_ref_v1: clear the flags only while
  // neither GTF_reading nor GTF_writing is set; the hypervisor sets those
  // with compare-exchange too, so a racing map is seen.
  uint16_t* pflags = &gTable[ref].flags;
  uint16_t seen = __atomic_load_n(pflags, __ATOMIC_ACQUIRE);
  for (;;) {
    if ((seen & (GTF_reading | GTF_writing)) != 0) {
      gLeakedMask[ref / 64] |= bit(ref);
      gUsed[ref / 64] &= ~bit(ref);
      --gInUse;
      ++gLeaked;
      return false;
    }
    if (__atomic_compare_exchange_n(pflags, &seen, uint16_t{0}, false, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE)) break;
  }
  gUsed[ref / 64] &= ~bit(ref);
  --gInUse;
  return true;
}

uint16_t flags(grant_ref_t ref) {
  return gTable != nullptr && ref < gCapacity ? __atomic_load_n(&gTable[ref].flags, __ATOMIC_ACQUIRE) : 0;
}

uint32_t capacity() { return gCapacity; }
uint32_t inUse() { return gInUse; }
uint64_t leaked() { return gLeaked; }

}  // namespace gnttab
