#include "kernel/PortWait.h"

#include "kernel/Events.h"
#include "kernel/Hypercall.h"
#include "kernel/XenTime.h"

namespace portwait {
namespace {

constexpr uint64_t kSliceNs = 100 * xentime::kNsPerMs;

}  // namespace

void clear(uint32_t port) {
  shared_info* s = events::sharedInfo();
  if (s == nullptr) return;
  __atomic_fetch_and(&s->evtchn_pending[port / 64], ~(xen_ulong_t{1} << (port % 64)), __ATOMIC_SEQ_CST);
}

bool wait(uint32_t port, uint64_t deadlineNs) {
  // An unhandled upcall (another port's event) would end every poll at once.
  events::poll();
  if (events::pendingBit(port)) return true;
  const uint64_t now = xentime::now();
  if (now >= deadlineNs) return false;
  evtchn_port_t p = port;
  sched_poll request{};
  set_xen_guest_handle(request.ports, &p);
  request.nr_ports = 1;
  request.timeout = deadlineNs - now > kSliceNs ? now + kSliceNs : deadlineNs;
  xen::schedOp(SCHEDOP_poll, &request);
  return events::pendingBit(port) || xentime::now() < deadlineNs;
}

}  // namespace portwait
