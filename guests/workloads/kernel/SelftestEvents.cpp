// selftest suite=events: Xen's event channel error codes (common/event_channel.c),
// upcall delivery on the IDT vector, masking, an interdomain loopback, Xen
// system time and timers. Every check leaves no port behind.
#include "kernel/Cpu.h"
#include "kernel/Events.h"
#include "kernel/Hypercall.h"
#include "kernel/XenTime.h"
#include "workloads/kernel/Selftest.h"

namespace {

constexpr uint32_t kInvalidPort = EVTCHN_2L_NR_CHANNELS - 1;  // beyond any bucket a fresh domain has
constexpr uint32_t kNoSuchVcpu = 4096;
constexpr int kDeliveryTries = 1000;

/// Sends nothing; waits (bounded, never blocking) until port's count passes before.
bool delivered(uint32_t port, uint64_t before) {
  for (int i = 0; i < kDeliveryTries && events::count(port) == before; ++i) {
    events::poll();
    if (events::count(port) == before) xen::schedOp(SCHEDOP_yield, nullptr);
  }
  return events::count(port) != before;
}

bool sendInvalidPort(Line& d) {
  long rc = events::send(kInvalidPort);
  d.str("port=").dec(kInvalidPort).str(" rc=").sdec(rc);
  return rc == -XEN_EINVAL;
}

bool closePortZero(Line& d) {
  long rc = events::close(0);
  d.str("rc=").sdec(rc);
  return rc == -XEN_EINVAL;
}

bool unmaskInvalidPort(Line& d) {
  long rc = events::unmask(kInvalidPort);
  d.str("port=").dec(kInvalidPort).str(" rc=").sdec(rc);
  return rc == -XEN_EINVAL;
}

bool unboundStatus(Line& d) {
  uint32_t port = 0;
  long rc = events::allocUnbound(0, port);
  d.str("alloc_unbound rc=").sdec(rc).str(" port=").dec(port);
  if (rc != 0) return false;
  evtchn_status st{};
  long rcStatus = events::status(port, st);
  long rcClose = events::close(port);
  d.str(" status rc=").sdec(rcStatus).str(" status=").dec(st.status).str(" remote_dom=").dec(st.u.unbound.dom);
  d.str(" close rc=").sdec(rcClose);
  return rcStatus == 0 && st.status == EVTCHNSTAT_unbound && st.u.unbound.dom == 0 && rcClose == 0;
}

bool sendUnboundDropped(Line& d) {
  uint32_t port = 0;
  long rc = events::allocUnbound(0, port);
  d.str("alloc_unbound rc=").sdec(rc);
  if (rc != 0) return false;
  long rcSend = events::send(port);
  events::close(port);
  d.str(" send rc=").sdec(rcSend);
  return rcSend == 0;  // Xen drops a send on an unbound port silently
}

bool sendClosedPort(Line& d) {
  uint32_t port = 0;
  long rc = events::allocUnbound(0, port);
  d.str("alloc_unbound rc=").sdec(rc);
  if (rc != 0) return false;
  long rcClose = events::close(port);
  long rcSend = events::send(port);
  evtchn_status st{};
  long rcStatus = events::status(port, st);
  d.str(" close rc=").sdec(rcClose).str(" send rc=").sdec(rcSend).str(" status=").dec(st.status);
  return rcClose == 0 && rcSend == -XEN_EINVAL && rcStatus == 0 && st.status == EVTCHNSTAT_closed;
}

bool bindVirqTwice(Line& d) {
  uint32_t first = 0, second = 0;
  long rc1 = events::bindVirq(VIRQ_DEBUG, 0, first);
  long rc2 = events::bindVirq(VIRQ_DEBUG, 0, second);
  if (rc1 == 0) events::close(first);
  if (rc2 == 0) events::close(second);
  d.str("VIRQ_DEBUG first rc=").sdec(rc1).str(" second rc=").sdec(rc2);
  return rc1 == 0 && rc2 == -XEN_EEXIST;
}

bool bindVirqBadVirq(Line& d) {
  uint32_t port = 0;
  long rc = events::bindVirq(NR_VIRQS, 0, port);
  if (rc == 0) events::close(port);
  d.str("virq=").dec(NR_VIRQS).str(" rc=").sdec(rc);
  return rc == -XEN_EINVAL;
}

bool bindVirqBadVcpu(Line& d) {
  uint32_t port = 0;
  long rc = events::bindVirq(VIRQ_TIMER, kNoSuchVcpu, port);
  if (rc == 0) events::close(port);
  d.str("vcpu=").dec(kNoSuchVcpu).str(" rc=").sdec(rc);
  return rc == -XEN_ENOENT;
}

bool bindIpiBadVcpu(Line& d) {
  uint32_t port = 0;
  long rc = events::bindIpi(kNoSuchVcpu, port);
  if (rc == 0) events::close(port);
  d.str("vcpu=").dec(kNoSuchVcpu).str(" rc=").sdec(rc);
  return rc == -XEN_ENOENT;
}

bool ipiUpcall(Line& d) {
  uint32_t port = 0;
  long rc = events::bindIpi(0, port);
  if (rc == 0) rc = events::bind(port, 0);
  d.str("delivery=").str(events::deliveryName()).str(" bind rc=").sdec(rc);
  if (rc != 0) return false;
  const events::UpcallStats s0 = events::stats(1);
  const uint64_t before = events::count(port);
  long rcSend = events::send(port);
  const bool got = delivered(port, before);
  const events::UpcallStats s1 = events::stats(1);
  events::unbind(port);
  events::close(port);
  d.str(" send rc=").sdec(rcSend).str(" events=").dec(events::count(port) - before);
  d.str(" irq=").dec(s1.irq - s0.irq).str(" polled=").dec(s1.polled - s0.polled);
  return rcSend == 0 && got && events::count(port) - before == 1;
}

bool maskedPortHeld(Line& d) {
  uint32_t port = 0;
  long rc = events::bindIpi(0, port);
  if (rc == 0) rc = events::bind(port, 0);
  d.str("bind rc=").sdec(rc);
  if (rc != 0) return false;
  events::mask(port);
  const uint64_t before = events::count(port);
  long rcSend = events::send(port);
  events::poll();
  const bool heldPending = events::pendingBit(port) && events::count(port) == before;
  long rcUnmask = events::unmask(port);
  const bool got = delivered(port, before);
  const bool cleared = !events::pendingBit(port);
  events::unbind(port);
  events::close(port);
  d.str(" send rc=").sdec(rcSend).str(" held_while_masked=").str(heldPending ? "yes" : "no");
  d.str(" unmask rc=").sdec(rcUnmask).str(" delivered_on_unmask=").str(got ? "yes" : "no");
  return rcSend == 0 && heldPending && rcUnmask == 0 && got && cleared;
}

bool loopbackInterdomain(Line& d) {
  uint32_t a = 0, b = 0;
  long rc = events::allocUnbound(DOMID_SELF, a);
  d.str("alloc_unbound(self) rc=").sdec(rc);
  if (rc != 0) return false;
  rc = events::bindInterdomain(DOMID_SELF, a, b);
  d.str(" bind_interdomain(self) rc=").sdec(rc);
  if (rc != 0) {
    events::close(a);
    return false;
  }
  events::bind(a, 0);
  events::bind(b, 0);
  const uint64_t a0 = events::count(a), b0 = events::count(b);
  long rcAB = events::send(b);
  const bool toA = delivered(a, a0);
  long rcBA = events::send(a);
  const bool toB = delivered(b, b0);
  evtchn_status st{};
  events::status(a, st);
  const bool connected = st.status == EVTCHNSTAT_interdomain && st.u.interdomain.port == b;
  events::unbind(b);
  long rcClose = events::close(b);
  events::status(a, st);
  const bool unboundAfter = st.status == EVTCHNSTAT_unbound;
  events::unbind(a);
  events::close(a);
  d.str(" b->a ").str(toA && rcAB == 0 ? "ok" : "lost").str(" a->b ").str(toB && rcBA == 0 ? "ok" : "lost");
  d.str(" connected=").str(connected ? "yes" : "no").str(" close rc=").sdec(rcClose);
  d.str(" peer_unbound_after_close=").str(unboundAfter ? "yes" : "no");
  return toA && toB && rcAB == 0 && rcBA == 0 && connected && rcClose == 0 && unboundAfter;
}

bool vcpuTimeInfo(Line& d) {
  const vcpu_time_info& t = thisCpu().vi->time;
  const uint32_t version = __atomic_load_n(&t.version, __ATOMIC_ACQUIRE);
  const uint32_t mul = t.tsc_to_system_mul;
  const uint64_t a = xentime::now();
  xen::schedOp(SCHEDOP_yield, nullptr);
  const uint64_t b = xentime::now();
  d.str("version=").dec(version).str(" mul=").dec(mul).str(" shift=").sdec(t.tsc_shift);
  d.str(" now=").dec(a).str(" advanced_ns=").sdec(static_cast<int64_t>(b - a));
  return mul != 0 && a != 0 && b > a;
}

bool singleshotSleep(Line& d) {
  const uint64_t a = xentime::now();
  long rc = xentime::sleepNs(xentime::kNsPerMs);
  const uint64_t slept = xentime::now() - a;
  d.str("rc=").sdec(rc).str(" slept_us=").dec(slept / xentime::kNsPerUs);
  return rc == 0 && slept >= xentime::kNsPerMs;
}

bool periodicTooShort(Line& d) {
  long rc = xentime::setPeriodic(100 * xentime::kNsPerUs);
  if (rc == 0) xentime::stopPeriodic();
  d.str("period=100us rc=").sdec(rc);
  return rc == -XEN_EINVAL;
}

bool init(Line& d) {
  events::init();
  d.str("delivery=").str(events::deliveryName());
  return events::ready() && events::delivery() != events::Delivery::None;
}

const SelftestCheck kChecks[] = {
    {"events_init", init},
    {"evtchn_send_invalid_port_einval", sendInvalidPort},
    {"evtchn_close_port0_einval", closePortZero},
    {"evtchn_unmask_invalid_port_einval", unmaskInvalidPort},
    {"evtchn_alloc_unbound_status", unboundStatus},
    {"evtchn_send_unbound_dropped", sendUnboundDropped},
    {"evtchn_send_closed_port_einval", sendClosedPort},
    {"evtchn_bind_virq_twice_eexist", bindVirqTwice},
    {"evtchn_bind_virq_bad_virq_einval", bindVirqBadVirq},
    {"evtchn_bind_virq_bad_vcpu_enoent", bindVirqBadVcpu},
    {"evtchn_bind_ipi_bad_vcpu_enoent", bindIpiBadVcpu},
    {"evtchn_ipi_upcall", ipiUpcall},
    {"evtchn_masked_port_held", maskedPortHeld},
    {"evtchn_loopback_interdomain", loopbackInterdomain},
    {"vcpu_time_info", vcpuTimeInfo},
    {"singleshot_timer_sleep", singleshotSleep},
    {"periodic_timer_below_1ms_einval", periodicTooShort},
};

}  // namespace

const SelftestSuite kEventsSuite = {"events", kChecks, sizeof(kChecks) / sizeof(kChecks[0])};
