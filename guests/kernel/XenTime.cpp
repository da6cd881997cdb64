#include "kernel/XenTime.h"

#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"
#include "kernel/Shutdown.h"

namespace xentime {
namespace {

void onTimer(uint32_t, void* arg) {
  auto* c = static_cast<PerCpu*>(arg);
  __atomic_fetch_add(&c->timerEvents, 1, __ATOMIC_RELEASE);
}

// pvclock_scale_delta: shift, then a 64x32-bit multiply keeping bits 95:32.
uint64_t scaleDelta(uint64_t delta, uint32_t mul, int8_t shift) {
  if (shift < 0)
    delta >>= -shift;
  else
    delta <<= shift;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * mul) >> 32);
}

}  // namespace

bool available() {
  const PerCpu& c = thisCpu();
  return c.vi != nullptr && __atomic_load_n(&c.vi->time.tsc_to_system_mul, __ATOMIC_ACQUIRE) != 0;
}

void require(Str who) {
  if (available()) return;
  xen::schedOp(SCHEDOP_yield, nullptr);
  if (available()) return;
  fail(Line().str(who).str(": no Xen system time (vcpu_time_info.tsc_to_system_mul is 0)"));
}

uint64_t now() {
  const PerCpu& c = thisCpu();
  if (c.vi == nullptr) return 0;
  const volatile vcpu_time_info* t = &c.vi->time;
  uint32_t version;
  uint64_t ns;
  do {
    version = t->version & ~1u;  // an odd version is an update in progress: retry
    asm volatile("" ::: "memory");
    const uint64_t tsc = cpu::rdtscOrdered();
    ns = t->system_time + scaleDelta(tsc - t->tsc_timestamp, t->tsc_to_system_mul, t->tsc_shift);
    asm volatile("" ::: "memory");
  } while (version != t->version);
  return ns;
}

uint64_t atTsc(uint64_t tsc) {
  const PerCpu& c = thisCpu();
  if (c.vi == nullptr) return 0;
  const volatile vcpu_time_info* t = &c.vi->time;
  uint32_t version;
  uint64_t ns;
  do {
    version = t->version & ~1u;
    asm volatile("" ::: "memory");
    const uint64_t stamp = t->tsc_timestamp;
    const uint64_t base = t->system_time;
    if (tsc >= stamp)
      ns = base + scaleDelta(tsc - stamp, t->tsc_to_system_mul, t->tsc_shift);
    else
      ns = base - scaleDelta(stamp - tsc, t->tsc_to_system_mul, t->tsc_shift);
    asm volatile("" ::: "memory");
  } while (version != t->version);
  return ns;
}

long initTimer() {
  PerCpu& c = thisCpu();
  if (c.timerPort != 0) return 0;
  uint32_t port = 0;
  long rc = events::bindVirq(VIRQ_TIMER, c.id, port);
  if (rc != 0) return rc;
  rc = events::bind(port, c.id, onTimer, &c);
  if (rc != 0) return rc;
  c.timerPort = port;
  // Linux (xen_time_init / xen_vcpuop_shutdown): the periodic tick is off and
  // the singleshot timer does the work. Older Xen gives PV vCPUs a 100 Hz tick.
  stopPeriodic();
  return 0;
}

uint64_t timerEvents() { return loadShared(thisCpu().timerEvents); }

long setSingleshot(uint64_t deadlineNs, uint32_t flags) {
  vcpu_set_singleshot_timer t{};
  t.timeout_abs_ns = deadlineNs;
  t.flags = flags;
  return xen::vcpuOp(VCPUOP_set_singleshot_timer, thisCpu().id, &t);
}

long stopSingleshot() { return xen::vcpuOp(VCPUOP_stop_singleshot_timer, thisCpu().id, nullptr); }

long setPeriodic(uint64_t periodNs) {
  vcpu_set_periodic_timer t{};
  t.period_ns = periodNs;
  return xen::vcpuOp(VCPUOP_set_periodic_timer, thisCpu().id, &t);
}

long stopPeriodic() { return xen::vcpuOp(VCPUOP_stop_periodic_timer, thisCpu().id, nullptr); }

long sleepUntil(uint64_t deadlineNs) {
  if (long rc = initTimer()) return rc;
  PerCpu& c = thisCpu();
  while (now() < deadlineNs) {
    const uint64_t before = loadShared(c.timerEvents);
    long rc = setSingleshot(deadlineNs, VCPU_SSHOTTMR_future);
    if (rc == -XEN_ETIME) return 0;  // already passed
    if (rc != 0) return rc;
    // An early or stray tick only sends us round again.
    events::waitFor([&] { return loadShared(c.timerEvents) != before; });
  }
  return 0;
}

long sleepNs(uint64_t ns) { return sleepUntil(now() + ns); }

}  // namespace xentime
