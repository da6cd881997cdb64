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

/// Entries this kernel uses: one frame of grant_entry_v1.
constexpr uint32_t kEntries = 4096 / sizeof(grant_entry_v1_t);

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

uint32_t inUse();
uint64_t leaked();

}  // namespace gnttab
