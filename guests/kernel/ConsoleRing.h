// The Xen console ring (xen/io/console.h), as hvc_xen and mini-os use it:
// HVM_PARAM_CONSOLE_PFN names a page shared with the console back end and
// HVM_PARAM_CONSOLE_EVTCHN the port to notify. Once both are set, output
// goes into `out` instead of HYPERVISOR_console_io, which is what a Xen guest
// does once its console is up; with either param 0 (an older hypervisor)
// nothing changes. The back end's indexes are checked on every access: a ring
// it breaks, or one it stops draining for too long, sends output back to
// console_io rather than losing it or hanging the guest.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/String.h"

namespace consolering {

/// Reads the two params and switches output to the ring when both are set
/// and the page lies in the identity map (below 4 GiB). True when in use.
bool init();

/// The page and port the params named (0 before init() or when unset).
uint64_t pfn();
uint32_t port();

/// True while output goes to the ring.
bool active();

/// Puts text into `out` and notifies, waiting a bounded time while the ring
/// is full. Returns how many bytes went in; fewer than text.size means the
/// ring is unusable (inactive, broken, or not drained) and the caller should
/// use console_io for the rest.
size_t write(Str text);

/// Waits (at most about a second) until the back end consumed everything
/// written, so output is not lost at shutdown.
void flush();

/// Input from `in` without waiting: up to n bytes into buf. Returns the byte
/// count, or -1 when there is no ring or its indexes are inconsistent.
long read(char* buf, size_t n);

/// Times output fell back to console_io, and bytes written to the ring.
uint64_t fallbacks();
uint64_t ringBytes();

}  // namespace consolering
