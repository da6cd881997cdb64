// This domain's grant table, v1, as a Linux HVM guest keeps it: the table's
// frames are placed with XENMEM_add_to_physmap(XENMAPSPACE_grant_table) at a
// guest-physical address outside RAM, and entries are written in place:
// domid and frame first, then (after a barrier) the flags that make the
// entry live. Ending access clears the flags only when the remote side no
// longer has the frame mapped (GTF_reading/GTF_writing), so a page a backend
// still uses is never handed back for reuse.
#pragma once
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "lib/Format.h"

namespace gnttab {

/// Frames of grant_entry_v1 this kernel places at most: enough for a block
/// device with 1 MiB requests in every slot (workload=blkbench). Fewer are
/// used when the hypervisor refuses the later ones (a small max_grant_frames).
constexpr uint32_t kMaxFrames = 8;
constexpr uint32_t kEntriesPerFrame = 4096 / sizeof(grant_entry_v1_t);
constexpr uint32_t kEntries = kMaxFrames * kEntriesPerFrame;

/// Places the table (idempotent). 0, or the failing hypercall's result
/// with why filled in.
long init(Line& why);
bool ready();
/// Where frame 0 sits (guest-physical).
uint64_t frameGpa();

/// Lets domid access guest frame gfn (read-only when readonly). Returns the
/// grant reference (>= GNTTAB_NR_RESERVED_ENTRIES), or -XEN_ENOSPC when
/// every entry is in use, -XEN_ENODEV before init().
long grantAccess(domid_t domid, uint64_t gfn, bool readonly);

/// Revokes ref. False when the remote side still has it mapped: the entry
/// then stays live and its reference is never reused (counted in leaked()).
bool endAccess(grant_ref_t ref);

/// The entry's flags as the hypervisor left them (for checks and tests).
uint16_t flags(grant_ref_t ref);

/// Entries of the frames actually placed (a multiple of kEntriesPerFrame).
uint32_t capacity();
uint32_t inUse();
uint64_t leaked();

}  // namespace gnttab
