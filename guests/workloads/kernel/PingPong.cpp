// pingpong: two domains bounce an event over an interdomain channel.
//   role=pong port=P [count=N]: P is this domain's port, allocated unbound for
//     the peer by the toolstack; every event is answered on P.
//   role=ping peer=D port=P [count=N]: binds to port P of domain D, then N
//     rounds of send + wait for the reply, strictly alternating.
#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"
#include "kernel/Shutdown.h"
#include "kernel/XenTime.h"
#include "workloads/Workloads.h"

namespace {

using xentime::kNsPerMs;
using xentime::kNsPerSec;

constexpr uint64_t kDefaultCount = 10000;
constexpr uint64_t kBindRetryNs = 10 * kNsPerMs;
constexpr uint64_t kBindTimeoutNs = 10 * kNsPerSec;
constexpr uint64_t kBindRetriesWithoutTime = 2000;
constexpr uint64_t kReplyTimeoutNs = 1 * kNsPerSec;
constexpr uint64_t kWatchdogPeriodNs = 100 * kNsPerMs;

Str statusName(uint32_t status) {
  switch (status) {
    case EVTCHNSTAT_closed: return "closed";
    case EVTCHNSTAT_unbound: return "unbound";
    case EVTCHNSTAT_interdomain: return "interdomain";
    case EVTCHNSTAT_pirq: return "pirq";
    case EVTCHNSTAT_virq: return "virq";
    case EVTCHNSTAT_ipi: return "ipi";
  }
  return "unknown";
}

void appendStats(Line& line) {
  const events::UpcallStats s = events::stats(1);
  line.str(" irq=").dec(s.irq).str(" polled=").dec(s.polled);
}

/// The pong side's port must be an unbound or connected interdomain channel.
void requireChannel(uint32_t port, Str who) {
  evtchn_status st{};
  long rc = events::status(port, st);
  if (rc != 0) fail(Line().str(who).str(": EVTCHNOP_status(").dec(port).str(") rc=").sdec(rc));
  if (st.status != EVTCHNSTAT_unbound && st.status != EVTCHNSTAT_interdomain)
    fail(Line().str(who).str(": port ").dec(port).str(" is ").str(statusName(st.status)).str(" (want unbound or interdomain)"));
}

void runPong(const Cmdline& cmdline) {
  const uint64_t port = cmdline.requiredNumber("port");
  const uint64_t count = cmdline.numberOrFail("count", kDefaultCount);
  if (port == 0 || port >= events::kMaxPorts) fail(Line().str("port= must be 1..").dec(events::kMaxPorts - 1));
  events::init();
  requireChannel(static_cast<uint32_t>(port), "pingpong");
  long rc = events::bind(static_cast<uint32_t>(port), 0);
  if (rc != 0) fail(Line().str("pingpong: EVTCHNOP_unmask(").dec(port).str(") rc=").sdec(rc));
  console::print(Line().str("pingpong ready role=pong port=").dec(port));
  uint64_t answered = 0, sent = 0;
  while (count == 0 || answered < count) {
    events::waitFor([&] { return events::count(static_cast<uint32_t>(port)) > answered; });
    for (uint64_t n = events::count(static_cast<uint32_t>(port)); answered < n; ++answered) {
      rc = events::send(static_cast<uint32_t>(port));
      if (rc != 0) fail(Line().str("pingpong: EVTCHNOP_send(").dec(port).str(") rc=").sdec(rc));
      ++sent;
    }
  }
  Line line;
  line.str("RESULT pingpong role=pong events=").dec(events::count(static_cast<uint32_t>(port))).str(" sent=").dec(sent);
  appendStats(line);
  console::print(line);
}

/// Sleeps about ns: the Xen timer when there is one, else a burst of yields.
void pauseBriefly(uint64_t ns, bool timed) {
  if (timed && xentime::sleepNs(ns) == 0) return;
  for (int i = 0; i < 100; ++i) xen::schedOp(SCHEDOP_yield, nullptr);
}

/// EVTCHNOP_bind_interdomain, retried while the peer has not set its end up.
uint32_t bindToPeer(domid_t peer, uint32_t remotePort, bool timed) {
  const uint64_t deadline = timed ? xentime::now() + kBindTimeoutNs : 0;
  for (uint64_t attempt = 0;; ++attempt) {
    uint32_t local = 0;
    long rc = events::bindInterdomain(peer, remotePort, local);
    if (rc == 0) return local;
    if (timed ? xentime::now() >= deadline : attempt >= kBindRetriesWithoutTime)
      fail(Line().str("pingpong: EVTCHNOP_bind_interdomain(dom ").dec(peer).str(", port ").dec(remotePort)
               .str(") rc=").sdec(rc).str(" after ").dec(attempt + 1).str(" attempt(s)"));
    pauseBriefly(kBindRetryNs, timed);
  }
}

void runPing(const Cmdline& cmdline) {
  const uint64_t peer = cmdline.requiredNumber("peer");
  const uint64_t remotePort = cmdline.requiredNumber("port");
  const uint64_t rounds = cmdline.numberOrFail("count", kDefaultCount);
  if (peer >= DOMID_FIRST_RESERVED) fail("peer= must be a domain id below 0x7ff0");
  if (rounds == 0) fail("count= must be at least 1 for role=ping");
  events::init();
  const bool timed = xentime::available() && xentime::initTimer() == 0;
  const uint32_t port = bindToPeer(static_cast<domid_t>(peer), static_cast<uint32_t>(remotePort), timed);
  long rc = events::bind(port, 0);
  if (rc != 0) fail(Line().str("pingpong: EVTCHNOP_unmask(").dec(port).str(") rc=").sdec(rc));
  // Xen marks a freshly bound interdomain port pending ("we may have lost
  // notifications on the remote unbound port"): that one is not a reply.
  events::poll();
  // A 100 ms periodic tick lets a wait notice a reply that never comes.
  const bool watchdog = timed && xentime::setPeriodic(kWatchdogPeriodNs) == 0;

  const uint64_t base = events::count(port);
  uint64_t got = base, lost = 0, dup = 0;
  const uint64_t t0 = xentime::now();
  const uint64_t c0 = cpu::rdtsc();
  for (uint64_t r = 0; r < rounds; ++r) {
    // Anything that came in since the last reply was not asked for.
    if (uint64_t n = events::count(port); n > got) {
      dup += n - got;
      got = n;
    }
    rc = events::send(port);
    if (rc != 0) fail(Line().str("pingpong: EVTCHNOP_send(").dec(port).str(") rc=").sdec(rc).str(" in round ").dec(r));
    auto replied = [&] { return events::count(port) > got; };
    bool ok = true;
    if (watchdog)
      ok = xentime::waitUntil(replied, xentime::now() + kReplyTimeoutNs);
    else
      events::waitFor(replied);
    if (ok)
      ++got;
    else
      ++lost;
  }
  const uint64_t cycles = cpu::rdtsc() - c0;
  const uint64_t ns = xentime::now() - t0;
  if (watchdog) xentime::stopPeriodic();
  // A late duplicate of the last reply.
  events::poll();
  if (uint64_t n = events::count(port); n > got) dup += n - got;

  Line line;
  line.str("RESULT pingpong role=ping rounds=").dec(rounds).str(" lost=").dec(lost).str(" dup=").dec(dup);
  line.str(" cycles_per_round=").dec(cycles / rounds);
  if (timed) line.str(" ns_per_round=").dec(ns / rounds);
  appendStats(line);
  console::print(line);
}

}  // namespace

void runPingPong(const Cmdline& cmdline) {
  const Str role = cmdline.value("role", "");
  if (role == "pong")
    runPong(cmdline);
  else if (role == "ping")
    runPing(cmdline);
  else
    fail(Line().str("role= must be ping or pong, not '").str(role).ch('\''));
}
