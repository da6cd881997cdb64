// apictimer: idles in `sti; hlt` until its own LAPIC timer fires, ticks= times
// (one-shot re-armed each time, or mode=periodic), as HVM guests and Linux
// idle. Nothing but the in-kernel LAPIC wakes it: no Xen timer, no event.
#include "kernel/Console.h"
#include "kernel/Idt.h"
#include "kernel/Lapic.h"
#include "kernel/Shutdown.h"
#include "kernel/XenTime.h"
#include "workloads/Workloads.h"

namespace {

constexpr uint8_t kTimerVector = 0xef;  // Linux's LOCAL_TIMER_VECTOR
constexpr uint64_t kNsPerMs = 1000000;
constexpr uint64_t kMaxPeriodMs = 4000;  // the 32-bit count at 1 ns per count

struct InterruptFrame;

volatile uint64_t gTicks = 0;

__attribute__((interrupt)) void timerInterrupt(InterruptFrame*) {
  gTicks = gTicks + 1;
  lapic::eoi();
}

}  // namespace

void runApicTimer(const Cmdline& cmdline) {
  const uint64_t ticks = cmdline.numberOrFail("ticks", 10);
  const uint64_t periodMs = cmdline.numberOrFail("period_ms", 5);
  const Str mode = cmdline.value("mode", "oneshot");
  if (ticks == 0 || periodMs == 0 || periodMs > kMaxPeriodMs) fail("apictimer: ticks=1.. and period_ms=1..4000");
  if (mode != "oneshot" && mode != "periodic") fail("apictimer: mode= must be oneshot or periodic");
  const bool periodic = mode == "periodic";
  const uint32_t count = static_cast<uint32_t>(periodMs * kNsPerMs);
  events::init();  // for Xen system time only: no port is bound, no Xen timer armed
  xentime::require("apictimer");
  idt::setGate(kTimerVector, reinterpret_cast<void (*)()>(&timerInterrupt));
  lapic::enable();
  const uint64_t t0 = xentime::now();
  if (periodic) lapic::armTimer(kTimerVector, count, true);
  for (uint64_t i = 0; i < ticks; ++i) {
    if (!periodic) lapic::armTimer(kTimerVector, count, false);
    // hlt is an emulation batch boundary: a vector requested before the sti
    // is taken there, so no tick is lost between the test and the hlt.
    while (gTicks <= i) asm volatile("sti; hlt; cli" ::: "memory");
  }
  lapic::stopTimer();
  const uint64_t elapsedUs = (xentime::now() - t0) / 1000;
  console::print(Line().str("RESULT apictimer mode=").str(mode).str(" ticks=").dec(gTicks).str(" period_ms=")
                     .dec(periodMs).str(" elapsed_us=").dec(elapsedUs));
}
