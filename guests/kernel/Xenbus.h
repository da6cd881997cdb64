// The xenstore client (Linux's drivers/xen/xenbus, mini-os's xenbus.c):
// requests go into the `req` ring of the page HVM_PARAM_STORE_PFN names,
// replies and watch events come back on `rsp`, HVM_PARAM_STORE_EVTCHN is
// the doorbell both ways. Replies are matched to requests by req_id; watch
// events arrive unasked and are queued apart from replies. Every call has a
// deadline, so a missing or stuck xenstored is an error (-XEN_ETIMEDOUT),
// never a hang. Everything the daemon writes (indexes, headers, lengths) is
// checked; a ring it breaks makes every later call -XEN_EIO.
//
// One caller at a time (vCPU 0 in this kernel). The port stays masked and
// is waited on with SCHEDOP_poll (kernel/PortWait.h).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <xen/errno.h>
#include <xen/io/xs_wire.h>

#include "lib/Format.h"

namespace xenbus {

constexpr uint64_t kDefaultTimeoutNs = 5ull * 1000 * 1000 * 1000;

/// Connects to the store ring (needs events::init() and Xen time). 0, or
/// -XEN_ENODEV when the params are 0 (no xenstore), -XEN_ERANGE for a page
/// outside the identity map, -XEN_ENOSYS without Xen time; why says which.
long init(Line& why);
bool ready();
uint64_t pfn();
uint32_t port();

/// Per-request timeout (default kDefaultTimeoutNs).
void setTimeout(uint64_t ns);

/// The operations return 0 or a negative Xen errno: the daemon's XS_ERROR
/// decoded (-XEN_ENOENT, -XEN_EACCES, ...), -XEN_ETIMEDOUT, -XEN_EIO for a
/// broken ring or an unexpected reply, -XEN_E2BIG when the request does not
/// fit, -XEN_ENOSPC when the reply does not fit the caller's buffer.
/// tx is a transaction id from transactionStart, 0 for none.
long read(Str path, char* buf, size_t cap, size_t& len, uint32_t tx = 0);
/// read() of a decimal number (at most 20 digits, nothing else): -XEN_EINVAL otherwise.
long readNumber(Str path, uint64_t& value, uint32_t tx = 0);
long write(Str path, Str value, uint32_t tx = 0);
long mkdir(Str path, uint32_t tx = 0);
long rm(Str path, uint32_t tx = 0);
/// The children's names, each followed by a NUL (iterate with XsStrings).
long directory(Str path, char* buf, size_t cap, size_t& len, uint32_t tx = 0);
long watch(Str path, Str token);
long unwatch(Str path, Str token);
long transactionStart(uint32_t& tx);
/// commit = false aborts; -XEN_EAGAIN means the transaction must be retried.
long transactionEnd(uint32_t tx, bool commit);

struct WatchEvent {
  static constexpr size_t kPathMax = 256;
  static constexpr size_t kTokenMax = 64;
  char path[kPathMax];
  size_t pathLen;
  char token[kTokenMax];
  size_t tokenLen;
  Str pathStr() const { return Str(path, pathLen); }
  Str tokenStr() const { return Str(token, tokenLen); }
};

/// Takes the oldest queued watch event, waiting for one until Xen time
/// deadlineNs (0: only what has arrived). False when there is none.
bool nextWatchEvent(WatchEvent& ev, uint64_t deadlineNs);

struct Stats {
  uint64_t requests, errors, timeouts, staleReplies, watchEvents, droppedEvents;
};
Stats stats();

}  // namespace xenbus
