// xenstore: the xenbus client against dom0's xenstored, on this domain's
// own /local/domain/<id>/data/smartvm subtree (data/ is where Xen lets a
// guest write).
//   workload=xenstore [timeout_ms=<ms>]
// mkdir, write, read back, directory, a watch (its first event, then one per
// change), rm, ENOENT decoded from XS_ERROR, a committed transaction; each
// step must give the expected answer.
#include "kernel/Console.h"
#include "kernel/Events.h"
#include "kernel/Shutdown.h"
#include "kernel/Xen.h"
#include "kernel/XenTime.h"
#include "kernel/Xenbus.h"
#include "lib/XsInbox.h"
#include "lib/XsRequest.h"
#include "workloads/Workloads.h"

namespace {

constexpr char kToken[] = "smartvm-xst";

struct Paths {
  Line base;
  Line key(Str name) const { return Line().str(base.view()).ch('/').str(name); }
};

void check(long rc, Str what) {
  if (rc != 0) fail(Line().str("xenstore: ").str(what).str(" rc=").sdec(rc).ch(' ').str(xsErrorName(rc)));
}

void expectValue(Str path, Str want) {
  char buf[128];
  size_t len = 0;
  check(xenbus::read(path, buf, sizeof(buf), len), Line().str("read ").str(path).view());
  if (!(Str(buf, len) == want))
    fail(Line().str("xenstore: read ").str(path).str(" gave '").str(Str(buf, len)).str("', want '").str(want).ch('\''));
}

// Waits for a watch event of ours whose path is `path`; other events
// (an earlier change, another watch) are skipped. False on timeout.
bool awaitEvent(Str path, uint64_t timeoutNs, uint64_t& seen) {
  const uint64_t deadline = xentime::now() + timeoutNs;
  xenbus::WatchEvent ev;
  while (xenbus::nextWatchEvent(ev, deadline)) {
    if (!(ev.tokenStr() == Str(kToken))) continue;
    ++seen;
    if (ev.pathStr() == path) return true;
  }
  return false;
}

}  // namespace

void runXenstore(const Cmdline& cmdline) {
  const uint64_t timeoutMs = cmdline.numberOrFail("timeout_ms", 5000);
  if (timeoutMs == 0 || timeoutMs > 3600000) fail("timeout_ms= must be 1..3600000");
  const uint64_t timeoutNs = timeoutMs * xentime::kNsPerMs;
  events::init();
  xentime::require("xenstore");
  Line why;
  if (xenbus::init(why) != 0) fail(Line().str("xenstore: ").str(why.view()));
  xenbus::setTimeout(timeoutNs);

  uint32_t domid = 0;
  if (!xen::domid(domid)) {
    uint64_t v = 0;
    check(xenbus::readNumber("domid", v), "read domid");
    domid = static_cast<uint32_t>(v);
  }
  Paths p;
  p.base.str("/local/domain/").dec(domid).str("/data/smartvm");

  // Leftovers of an earlier run go; ENOENT is fine, anything else is not.
  const long rmRc = xenbus::rm(p.base.view());
  if (rmRc != -XEN_ENOENT) check(rmRc, Line().str("rm ").str(p.base.view()).view());
  check(xenbus::mkdir(p.base.view()), Line().str("mkdir ").str(p.base.view()).view());
  check(xenbus::write(p.key("hello").view(), "world"), "write hello");
  check(xenbus::write(p.key("answer").view(), "42"), "write answer");
  expectValue(p.key("hello").view(), "world");
  uint64_t answer = 0;
  check(xenbus::readNumber(p.key("answer").view(), answer), "read answer");
  if (answer != 42) fail(Line().str("xenstore: answer read back as ").dec(answer));

  char names[512];
  size_t len = 0;
  check(xenbus::directory(p.base.view(), names, sizeof(names), len), "directory");
  uint64_t entries = 0;
  bool sawHello = false, sawAnswer = false;
  XsStrings list(Str(names, len));
  for (Str name; list.next(name);) {
    ++entries;
    sawHello = sawHello || name == "hello";
    sawAnswer = sawAnswer || name == "answer";
  }
  if (entries != 2 || !sawHello || !sawAnswer)
    fail(Line().str("xenstore: directory ").str(p.base.view()).str(" has ").dec(entries).str(" entries, want hello and answer"));

  // A watch fires once when set (Xen's rule), then for every change below it.
  uint64_t events = 0;
  check(xenbus::watch(p.base.view(), kToken), "watch");
  if (!awaitEvent(p.base.view(), timeoutNs, events)) fail("xenstore: the watch's first event did not come");
  check(xenbus::write(p.key("hello").view(), "again"), "rewrite hello");
  if (!awaitEvent(p.key("hello").view(), timeoutNs, events)) fail("xenstore: no watch event for the rewrite");
  check(xenbus::rm(p.key("answer").view()), "rm answer");
  if (!awaitEvent(p.key("answer").view(), timeoutNs, events)) fail("xenstore: no watch event for the rm");

  // Error replies: XS_ERROR "ENOENT" decoded.
  char buf[16];
  long rc = xenbus::read(p.key("answer").view(), buf, sizeof(buf), len);
  if (rc != -XEN_ENOENT) fail(Line().str("xenstore: read of a removed node gave rc=").sdec(rc).str(", want ENOENT"));

  // A transaction: writes inside become visible at commit.
  uint32_t tx = 0;
  const char* txResult = "unsupported";
  if (xenbus::transactionStart(tx) == 0) {
    check(xenbus::write(p.key("tx").view(), "committed", tx), "write in transaction");
    rc = xenbus::transactionEnd(tx, true);
    if (rc == 0) {
      expectValue(p.key("tx").view(), "committed");
      txResult = "committed";
    } else if (rc == -XEN_EAGAIN) {
      txResult = "eagain";
    } else {
      check(rc, "transaction end");
    }
  }
  check(xenbus::unwatch(p.base.view(), kToken), "unwatch");
  check(xenbus::rm(p.base.view()), "rm base");

  const xenbus::Stats s = xenbus::stats();
  Line line;
  line.str("RESULT xenstore domid=").dec(domid).str(" requests=").dec(s.requests).str(" dir_entries=").dec(entries)
      .str(" watch_events=").dec(events).str(" enoent=ok tx=").str(txResult).str(" errors=").dec(s.errors)
      .str(" timeouts=").dec(s.timeouts).str(" stale=").dec(s.staleReplies);
  console::print(line);
}
