// timer: Xen timers measured with Xen system time. Singleshot timers for a
// set of delays (lateness per delay, early expiries), a deadline in the past
// with VCPU_SSHOTTMR_future, the periodic timer, and set_timer_op.
#include "kernel/Console.h"
#include "kernel/Hypercall.h"
#include "kernel/Shutdown.h"
#include "kernel/XenTime.h"
#include "workloads/Workloads.h"

namespace {

using xentime::kNsPerMs;
using xentime::kNsPerUs;

constexpr uint64_t kDelaysMs[] = {1, 2, 5, 10, 20, 50};
constexpr size_t kDelays = sizeof(kDelaysMs) / sizeof(kDelaysMs[0]);
constexpr uint64_t kMaxRepeats = 64;
constexpr uint64_t kSetTimerOpDelayMs = 5;

struct Samples {
  int64_t v[kDelays * kMaxRepeats];
  size_t n = 0;
  void add(int64_t x) { v[n++] = x; }
  void sort() {
    for (size_t i = 1; i < n; ++i) {
      int64_t x = v[i];
      size_t j = i;
      for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
      v[j] = x;
    }
  }
  int64_t min() const { return v[0]; }
  int64_t median() const { return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; }
  int64_t max() const { return v[n - 1]; }
};

int64_t toUs(int64_t ns) { return ns / static_cast<int64_t>(kNsPerUs); }

void check(long rc, Str what) {
  if (rc != 0) fail(Line().str("timer: ").str(what).str(" rc=").sdec(rc));
}

/// Waits for the next VIRQ_TIMER event after `before`; returns the Xen time it was seen.
uint64_t waitTick(uint64_t before) {
  PerCpu& c = thisCpu();
  events::waitFor([&] { return loadShared(c.timerEvents) != before; });
  return xentime::now();
}

/// Lateness of one timer event, in ns (negative: early).
struct Late {
  int64_t wake;     // when SCHEDOP_block returned with the event pending
  int64_t handled;  // when the guest had handled it (after its upcall)
};

/// Waits for the VIRQ_TIMER event after `before` that was due at deadline.
Late waitLate(uint64_t before, uint64_t deadline) {
  const uint64_t handled = waitTick(before);
  const uint64_t wake = xentime::atTsc(thisCpu().wakeTsc);
  return Late{static_cast<int64_t>(wake - deadline), static_cast<int64_t>(handled - deadline)};
}

/// One singleshot of delayNs. etime counts -ETIME answers (the deadline had
/// passed before the hypercall: both latenesses are then the time now).
Late singleshot(uint64_t delayNs, uint64_t& etime) {
  const uint64_t before = xentime::timerEvents();
  const uint64_t deadline = xentime::now() + delayNs;
  long rc = xentime::setSingleshot(deadline, VCPU_SSHOTTMR_future);
  if (rc == -XEN_ETIME) {
    ++etime;
    const int64_t late = static_cast<int64_t>(xentime::now() - deadline);
    return Late{late, late};
  }
  check(rc, "VCPUOP_set_singleshot_timer");
  return waitLate(before, deadline);
}

/// A deadline 1 ms in the past with VCPU_SSHOTTMR_future: Xen may answer
/// -ETIME (no event) or ignore the flag and fire at once. "etime" or "fired".
Str pastDeadline() {
  const uint64_t before = xentime::timerEvents();
  long rc = xentime::setSingleshot(xentime::now() - kNsPerMs, VCPU_SSHOTTMR_future);
  if (rc == -XEN_ETIME) return "etime";
  check(rc, "VCPUOP_set_singleshot_timer (past deadline)");
  waitTick(before);
  return "fired";
}

struct Periodic {
  uint64_t meanNs;
  bool stopped;
};

Periodic periodic(uint64_t periodNs, uint64_t ticks) {
  const uint64_t base = xentime::timerEvents();
  check(xentime::setPeriodic(periodNs), "VCPUOP_set_periodic_timer");
  const uint64_t first = waitTick(base);
  uint64_t last = first;
  // Ticks are counted, not waited for one by one: two that coalesce in the
  // pending bit count once, which shows up as a longer mean period.
  while (xentime::timerEvents() - base < ticks) last = waitTick(xentime::timerEvents());
  const uint64_t seen = xentime::timerEvents() - base;
  check(xentime::stopPeriodic(), "VCPUOP_stop_periodic_timer");
  // Stopped: over three periods only our own singleshot may fire.
  const uint64_t afterStop = xentime::timerEvents();
  check(xentime::sleepNs(3 * periodNs), "sleep after stopping the periodic timer");
  const bool stopped = xentime::timerEvents() - afterStop <= 1;
  return Periodic{seen > 1 ? (last - first) / (seen - 1) : 0, stopped};
}

/// set_timer_op (hypercall 15) with a deadline kSetTimerOpDelayMs ahead.
Late setTimerOp() {
  const uint64_t before = xentime::timerEvents();
  const uint64_t deadline = xentime::now() + kSetTimerOpDelayMs * kNsPerMs;
  check(xen::setTimerOp(deadline), "set_timer_op");
  return waitLate(before, deadline);
}

/// set_timer_op(0) cancels: arm 2 ms, cancel, arm a 6 ms singleshot; the first
/// tick must come at 6 ms, not 2.
bool setTimerOpCancels() {
  check(xen::setTimerOp(xentime::now() + 2 * kNsPerMs), "set_timer_op");
  check(xen::setTimerOp(0), "set_timer_op(0)");
  const uint64_t before = xentime::timerEvents();
  const uint64_t deadline = xentime::now() + 6 * kNsPerMs;
  check(xentime::setSingleshot(deadline, 0), "VCPUOP_set_singleshot_timer");
  return waitTick(before) >= deadline;
}

}  // namespace

void runTimer(const Cmdline& cmdline) {
  const uint64_t repeats = cmdline.numberOrFail("repeats", 5);
  if (repeats == 0 || repeats > kMaxRepeats) fail(Line().str("repeats= must be 1..").dec(kMaxRepeats));
  const uint64_t periodMs = cmdline.numberOrFail("period_ms", 10);
  const uint64_t ticks = cmdline.numberOrFail("ticks", 20);
  if (periodMs == 0 || ticks < 2) fail("period_ms= must be at least 1 and ticks= at least 2");
  events::init();
  xentime::require("timer");
  check(xentime::initTimer(), "binding VIRQ_TIMER");

  static Samples all, allHandled;
  uint64_t early = 0, etime = 0;
  for (uint64_t delayMs : kDelaysMs) {
    Samples one, handled;
    uint64_t earlyHere = 0;
    for (uint64_t r = 0; r < repeats; ++r) {
      const Late late = singleshot(delayMs * kNsPerMs, etime);
      if (late.wake < 0) ++earlyHere;
      one.add(late.wake);
      all.add(late.wake);
      handled.add(late.handled);
      allHandled.add(late.handled);
    }
    one.sort();
    handled.sort();
    early += earlyHere;
    console::print(Line().str("timer delay_ms=").dec(delayMs).str(" n=").dec(one.n).str(" late_min_us=")
                       .sdec(toUs(one.min())).str(" late_median_us=").sdec(toUs(one.median()))
                       .str(" late_max_us=").sdec(toUs(one.max())).str(" handled_late_median_us=")
                       .sdec(toUs(handled.median())).str(" early=").dec(earlyHere));
  }
  all.sort();
  allHandled.sort();
  const Str past = pastDeadline();
  const Periodic p = periodic(periodMs * kNsPerMs, ticks);
  const Late op = setTimerOp();
  const bool cancelled = setTimerOpCancels();

  Line line;
  line.str("RESULT timer delays_ms=");
  for (size_t i = 0; i < kDelays; ++i) line.str(i ? "," : "").dec(kDelaysMs[i]);
  line.str(" repeats=").dec(repeats).str(" early=").dec(early).str(" etime=").dec(etime);
  line.str(" late_min_us=").sdec(toUs(all.min())).str(" late_median_us=").sdec(toUs(all.median()));
  line.str(" late_max_us=").sdec(toUs(all.max())).str(" handled_late_median_us=").sdec(toUs(allHandled.median()));
  line.str(" past=").str(past);
  line.str(" periodic_ms=").dec(periodMs).str(" periodic_ticks=").dec(ticks);
  line.str(" periodic_mean_us=").dec(p.meanNs / kNsPerUs).str(" periodic_stop=").str(p.stopped ? "ok" : "failed");
  line.str(" set_timer_op_late_us=").sdec(toUs(op.wake)).str(" set_timer_op_cancel=").str(cancelled ? "ok" : "failed");
  console::print(line);
  if (!p.stopped) fail("timer: the periodic timer kept firing after VCPUOP_stop_periodic_timer");
  if (!cancelled) fail("timer: set_timer_op(0) did not cancel the pending timeout");
}
