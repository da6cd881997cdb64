// wait and flood: the two ends of dom0-driven event channel tests.
//   wait port=P [count=N]: blocks (SCHEDOP_block) until N events came on P,
//     echoing each back; a blocked guest should cost no CPU time.
//   flood port=P [seconds=S]: EVTCHNOP_send on P in a tight loop for S
//     seconds of Xen system time.
#include "kernel/Console.h"
#include "kernel/Shutdown.h"
#include "kernel/XenTime.h"
#include "workloads/Workloads.h"

namespace {

uint32_t portOption(const Cmdline& cmdline) {
  const uint64_t port = cmdline.requiredNumber("port");
  if (port == 0 || port >= events::kMaxPorts) fail(Line().str("port= must be 1..").dec(events::kMaxPorts - 1));
  return static_cast<uint32_t>(port);
}

void requireOpen(uint32_t port, Str who) {
  evtchn_status st{};
  long rc = events::status(port, st);
  if (rc != 0) fail(Line().str(who).str(": EVTCHNOP_status(").dec(port).str(") rc=").sdec(rc));
  if (st.status == EVTCHNSTAT_closed) fail(Line().str(who).str(": port ").dec(port).str(" is closed"));
}

}  // namespace

void runWait(const Cmdline& cmdline) {
  const uint32_t port = portOption(cmdline);
  const uint64_t count = cmdline.numberOrFail("count", 1);
  events::init();
  requireOpen(port, "wait");
  long rc = events::bind(port, 0);
  if (rc != 0) fail(Line().str("wait: EVTCHNOP_unmask(").dec(port).str(") rc=").sdec(rc));
  console::print(Line().str("wait ready port=").dec(port));
  uint64_t answered = 0;
  while (answered < count) {
    events::waitFor([&] { return events::count(port) > answered; });
    for (uint64_t n = events::count(port); answered < n; ++answered) {
      rc = events::send(port);
      if (rc != 0) fail(Line().str("wait: EVTCHNOP_send(").dec(port).str(") rc=").sdec(rc));
    }
  }
  console::print(Line().str("RESULT wait events=").dec(events::count(port)));
}

void runFlood(const Cmdline& cmdline) {
  const uint32_t port = portOption(cmdline);
  const uint64_t seconds = cmdline.numberOrFail("seconds", 1);
  if (seconds == 0) fail("seconds= must be at least 1");
  events::init();
  xentime::require("flood");
  requireOpen(port, "flood");
  uint64_t sends = 0, errors = 0;
  long firstError = 0;
  const uint64_t deadline = xentime::now() + seconds * xentime::kNsPerSec;
  while (xentime::now() < deadline) {
    long rc = events::send(port);
    if (rc == 0) {
      ++sends;
    } else {
      if (errors++ == 0) firstError = rc;
    }
  }
  Line line;
  line.str("RESULT flood sends=").dec(sends).str(" errors=").dec(errors).str(" seconds=").dec(seconds);
  console::print(line);
  if (errors != 0) fail(Line().str("flood: EVTCHNOP_send(").dec(port).str(") rc=").sdec(firstError));
}
