// Waiting on one event channel port without an upcall handler, as xenbus
// and blkfront do here: the port stays masked (events::init masks all), its
// pending bit is the doorbell, and SCHEDOP_poll sleeps until it is set or a
// deadline passes. The caller clears the bit before looking at its ring, so
// an event that comes after the look ends the next poll at once.
#pragma once
#include <stdint.h>

namespace portwait {

/// Clears port's pending bit in shared_info (needs events::init()).
void clear(uint32_t port);

/// Sleeps until port is pending or Xen system time reaches deadlineNs
/// (SCHEDOP_poll, in slices of at most 100 ms; other pending upcalls are
/// handled first so they do not end the poll at once). False when the
/// deadline passed. Needs events::init() and Xen time.
bool wait(uint32_t port, uint64_t deadlineNs);

}  // namespace portwait
