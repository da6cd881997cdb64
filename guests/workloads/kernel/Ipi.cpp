// ipi: a token passed round robin between vCPUs over IPI event channels.
// vCPU 0 brings up the others (VCPUOP_initialise + VCPUOP_up), each binds
// its own IPI port (EVTCHNOP_bind_ipi), and the token goes 0 -> 1 -> ... ->
// n-1 -> 0 `rounds` times. At the end vCPU 0 takes the APs down (VCPUOP_down).
#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Shutdown.h"
#include "kernel/Smp.h"
#include "kernel/XenTime.h"
#include "workloads/Workloads.h"

namespace {

using xentime::kNsPerMs;
using xentime::kNsPerSec;

constexpr uint64_t kTokenTimeoutNs = 1 * kNsPerSec;
constexpr uint64_t kWatchdogPeriodNs = 100 * kNsPerMs;

struct Ring {
  uint32_t vcpus;
  uint32_t port[MAX_CPUS];      // each vCPU's IPI port, 0 until bound
  long error[MAX_CPUS];         // an AP's failed bind
  uint64_t passed[MAX_CPUS];    // tokens each AP passed on
  long timerRc[MAX_CPUS];       // an AP's 1 ms sleep on its own VIRQ_TIMER
  uint64_t sleptNs[MAX_CPUS];
  bool timers;                  // Xen time is available: APs test their timers
  uint32_t stop;
};

constexpr uint64_t kApSleepNs = xentime::kNsPerMs;

constinit Ring gRing{};

void ipiAp(PerCpu& c) {
  Ring& ring = *static_cast<Ring*>(c.arg);
  if (ring.timers) {
    // This vCPU's own vcpu_time_info and VIRQ_TIMER.
    const uint64_t t0 = xentime::now();
    ring.timerRc[c.id] = xentime::sleepNs(kApSleepNs);
    ring.sleptNs[c.id] = xentime::now() - t0;
  }
  uint32_t port = 0;
  long rc = events::bindIpi(c.id, port);
  if (rc == 0) rc = events::bind(port, c.id);
  if (rc != 0) {
    storeShared(ring.error[c.id], rc);
    return;
  }
  storeShared(ring.port[c.id], port);
  const uint32_t next = (c.id + 1) % ring.vcpus;
  uint64_t taken = 0;
  for (;;) {
    events::waitFor([&] { return events::count(port) > taken || loadShared(ring.stop) != 0; });
    // vCPU 0 sets stop before the event that wakes us for it.
    if (loadShared(ring.stop) != 0) break;
    for (uint64_t n = events::count(port); taken < n; ++taken) events::send(loadShared(ring.port[next]));
  }
  storeShared(ring.passed[c.id], taken);
}

void startAps(Ring& ring) {
  for (uint32_t id = 1; id < ring.vcpus; ++id) {
    Line why;
    if (!smp::startAp(id, ipiAp, &ring, why)) fail(Line().str("ipi: ").str(why.view()));
  }
  for (uint32_t id = 1; id < ring.vcpus; ++id) {
    bool bound = smp::yieldUntil([&] { return loadShared(ring.port[id]) != 0 || loadShared(ring.error[id]) != 0; });
    if (!bound) fail(Line().str("ipi: vCPU ").dec(id).str(" did not bind its IPI port"));
    if (long rc = loadShared(ring.error[id])) fail(Line().str("ipi: vCPU ").dec(id).str(" EVTCHNOP_bind_ipi/unmask rc=").sdec(rc));
    if (ring.timers && (ring.timerRc[id] != 0 || ring.sleptNs[id] < kApSleepNs))
      fail(Line().str("ipi: vCPU ").dec(id).str(" 1 ms timer sleep rc=").sdec(ring.timerRc[id]).str(" slept_ns=")
               .dec(ring.sleptNs[id]));
  }
}

/// Stops the APs' loops, checks what they passed on, takes them down.
void stopAps(Ring& ring, uint64_t expected, bool exact) {
  storeShared(ring.stop, 1u);
  for (uint32_t id = 1; id < ring.vcpus; ++id) events::send(ring.port[id]);
  for (uint32_t id = 1; id < ring.vcpus; ++id) {
    if (!smp::yieldUntil([&] { return loadShared(percpu::cpu(id).finished) != 0; }))
      fail(Line().str("ipi: vCPU ").dec(id).str(" did not stop"));
    const uint64_t passed = loadShared(ring.passed[id]);
    if (exact && passed != expected)
      fail(Line().str("ipi: vCPU ").dec(id).str(" passed ").dec(passed).str(" tokens, want ").dec(expected));
  }
  for (uint32_t id = 1; id < ring.vcpus; ++id) {
    long rc = smp::down(id);
    if (rc != 0) fail(Line().str("ipi: VCPUOP_down(").dec(id).str(") rc=").sdec(rc));
    rc = smp::isUp(id);
    if (rc != 0) fail(Line().str("ipi: VCPUOP_is_up(").dec(id).str(") after down = ").sdec(rc).str(", want 0"));
  }
}

}  // namespace

void runIpi(const Cmdline& cmdline) {
  Ring& ring = gRing;
  ring.vcpus = smp::vcpusFromCmdline(cmdline);
  const uint64_t rounds = cmdline.numberOrFail("rounds", 1000);
  if (rounds == 0) fail("rounds= must be at least 1");
  events::init();
  const bool timed = xentime::available() && xentime::initTimer() == 0;
  uint32_t port = 0;
  long rc = events::bindIpi(0, port);
  if (rc == 0) rc = events::bind(port, 0);
  if (rc != 0) fail(Line().str("ipi: EVTCHNOP_bind_ipi/unmask on vCPU 0 rc=").sdec(rc));
  ring.port[0] = port;
  ring.timers = timed;
  startAps(ring);
  const bool watchdog = timed && xentime::setPeriodic(kWatchdogPeriodNs) == 0;

  const uint32_t first = ring.port[1 % ring.vcpus];
  uint64_t got = 0, lost = 0;
  const uint64_t c0 = cpu::rdtsc();
  for (uint64_t r = 0; r < rounds; ++r) {
    rc = events::send(first);
    if (rc != 0) fail(Line().str("ipi: EVTCHNOP_send(").dec(first).str(") rc=").sdec(rc).str(" in round ").dec(r));
    auto back = [&] { return events::count(port) > got; };
    bool ok = true;
    if (watchdog)
      ok = xentime::waitUntil(back, xentime::now() + kTokenTimeoutNs);
    else
      events::waitFor(back);
    if (!ok) {
      lost = 1;
      break;
    }
    ++got;
  }
  const uint64_t cycles = cpu::rdtsc() - c0;
  if (watchdog) xentime::stopPeriodic();
  const uint64_t done = got;
  events::poll();
  const uint64_t dup = events::count(port) - got;
  stopAps(ring, done, lost == 0 && dup == 0);

  const events::UpcallStats s = events::stats(ring.vcpus);
  Line line;
  line.str("RESULT ipi vcpus=").dec(ring.vcpus).str(" rounds=").dec(done).str(" lost=").dec(lost).str(" dup=").dec(dup);
  line.str(" cycles_per_round=").dec(done ? cycles / done : 0);
  line.str(" cycles_per_hop=").dec(done ? cycles / (done * ring.vcpus) : 0);
  line.str(" down=").dec(ring.vcpus - 1).str(" ap_timers=").str(ring.vcpus == 1 ? "none" : ring.timers ? "ok" : "untested").str(" delivery=").str(events::deliveryName());
  line.str(" irq=").dec(s.irq).str(" polled=").dec(s.polled);
  console::print(line);
  if (lost != 0) fail(Line().str("ipi: the token did not come back in round ").dec(done));
}
