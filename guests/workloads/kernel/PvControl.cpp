// pvcontrol: a guest that stays up and honours the toolstack's shutdown
// requests, as Linux's drivers/xen/manage.c does for `xl shutdown` / `xl reboot`.
//   workload=pvcontrol [timeout_ms=<ms>]
// At boot it announces control/feature-poweroff=1 and control/feature-reboot=1
// (what the toolstack checks before asking), watches control/shutdown and waits.
// On a change it reads the node in a transaction; "poweroff"/"halt"/"reboot"
// are acknowledged by writing "" in that transaction, then the guest shuts down
// with the matching reason. Anything else is left alone, with a console line.
// Paths are relative: xenstored resolves them under /local/domain/<id>.
#include "kernel/Console.h"
#include "kernel/Events.h"
#include "kernel/Shutdown.h"
#include "kernel/Xen.h"
#include "kernel/XenTime.h"
#include "kernel/Xenbus.h"
#include "lib/PvShutdown.h"
#include "lib/XsRequest.h"
#include "workloads/Workloads.h"

namespace {

constexpr char kToken[] = "smartvm-pvctl";
constexpr char kShutdownNode[] = "control/shutdown";
// Longer values are no command this guest knows; ENOSPC makes them "unsupported".
constexpr size_t kValueMax = 64;
constexpr int kMaxTxRetries = 20;

struct Counters {
  uint64_t events = 0;
  uint64_t ignored = 0;
};

void check(long rc, Str what) {
  if (rc != 0) fail(Line().str("pvcontrol: ").str(what).str(" rc=").sdec(rc).ch(' ').str(xsErrorName(rc)));
}

void printIgnored(Str why, char* value, size_t len) {
  pvshutdown::makePrintable(value, len);
  console::print(Line().str("pvcontrol: ignoring shutdown request '").str(Str(value, len)).str("' (").str(why).ch(')'));
}

// One look at control/shutdown (Linux's shutdown_handler). Returns the request
// the guest must act on now (already acknowledged), or None.
pvshutdown::Request handleChange(Counters& n) {
  for (int attempt = 0; attempt < kMaxTxRetries; ++attempt) {
    uint32_t tx = 0;
    if (long rc = xenbus::transactionStart(tx); rc != 0) {
      console::print(Line().str("pvcontrol: transaction start rc=").sdec(rc).str("; request left alone"));
      return pvshutdown::Request::None;
    }
    char value[kValueMax];
    size_t len = 0;
    const long rc = xenbus::read(kShutdownNode, value, sizeof(value), len, tx);
    pvshutdown::Request req = pvshutdown::Request::Unsupported;
    if (rc == 0) {
      req = pvshutdown::parse(Str(value, len));
    } else if (rc != -XEN_ENOSPC) {
      req = pvshutdown::Request::None;  // gone or unreadable: nothing asked (Linux ignores read errors)
    } else {
      // The reply was not copied: name it instead of printing stale bytes.
      static constexpr char kLong[] = "...";
      memcpy(value, kLong, sizeof(kLong) - 1);
      len = sizeof(kLong) - 1;
    }
    if (req == pvshutdown::Request::None) {
      (void)xenbus::transactionEnd(tx, false);
      return req;
    }
    // Only what the guest will act on is acknowledged.
    if (pvshutdown::acknowledged(req)) check(xenbus::write(kShutdownNode, "", tx), "clear control/shutdown");
    const long end = xenbus::transactionEnd(tx, true);
    if (end == -XEN_EAGAIN) continue;
    check(end, "transaction end");
    if (pvshutdown::acknowledged(req)) return req;
    ++n.ignored;
    printIgnored(rc == -XEN_ENOSPC ? Str("longer than 64 bytes") : Str("not supported"), value, len);
    return pvshutdown::Request::None;
  }
  console::print("pvcontrol: transaction kept conflicting; request left alone");
  return pvshutdown::Request::None;
}

}  // namespace

void runPvControl(const Cmdline& cmdline) {
  const uint64_t timeoutMs = cmdline.numberOrFail("timeout_ms", 5000);
  if (timeoutMs == 0 || timeoutMs > 3600000) fail("timeout_ms= must be 1..3600000");
  events::init();
  xentime::require("pvcontrol");
  Line why;
  if (xenbus::init(why) != 0) fail(Line().str("pvcontrol: ").str(why.view()));
  xenbus::setTimeout(timeoutMs * xentime::kNsPerMs);
  uint32_t domid = 0;
  if (!xen::domid(domid)) {
    uint64_t v = 0;
    check(xenbus::readNumber("domid", v), "read domid");
    domid = static_cast<uint32_t>(v);
  }
  check(xenbus::write("control/feature-poweroff", "1"), "write control/feature-poweroff");
  check(xenbus::write("control/feature-reboot", "1"), "write control/feature-reboot");
  // Its first event (fired on registration) also catches a request written before.
  check(xenbus::watch(kShutdownNode, kToken), "watch control/shutdown");
  console::print(Line().str("pvcontrol ready domid=").dec(domid));

  Counters n;
  xenbus::WatchEvent ev;
  for (;;) {
    // Sleeps in SCHEDOP_poll on the store port; the deadline only bounds one wait.
    if (!xenbus::nextWatchEvent(ev, xentime::now() + 1000 * xentime::kNsPerMs)) {
      // A ring xenstored broke answers at once from now on: stop rather than spin.
      if (!xenbus::ready()) fail("pvcontrol: the xenstore connection broke");
      continue;
    }
    if (!(ev.tokenStr() == Str(kToken))) continue;
    ++n.events;
    const pvshutdown::Request req = handleChange(n);
    if (req == pvshutdown::Request::None) continue;
    console::print(Line().str("RESULT pvcontrol request=").str(pvshutdown::name(req)).str(" domid=").dec(domid)
                       .str(" events=").dec(n.events).str(" ignored=").dec(n.ignored));
    shutdownWith(static_cast<unsigned>(pvshutdown::reason(req)));
  }
}
