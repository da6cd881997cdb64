// Xen system time and timers, as Linux's pvclock and arch/x86/xen/time.c use
// them: time from this vCPU's vcpu_info.time and the TSC; sleeps on the
// singleshot timer, whose expiry raises VIRQ_TIMER on this vCPU.
#pragma once
#include <stdint.h>

#include "kernel/Events.h"
#include "lib/String.h"

namespace xentime {

constexpr uint64_t kNsPerUs = 1000;
constexpr uint64_t kNsPerMs = 1000 * 1000;
constexpr uint64_t kNsPerSec = 1000 * 1000 * 1000;

/// True when the hypervisor keeps this vCPU's vcpu_time_info (a non-zero
/// tsc_to_system_mul). Needs events::init() (shared_info mapped).
bool available();

/// FAILs with "<who>: no Xen system time ..." unless available() (after a
/// yield, in case the hypervisor fills vcpu_time_info on first schedule).
void require(Str who);

/// Xen system time in ns (pvclock: version retry loop, scaled TSC delta);
/// 0 before events::init().
uint64_t now();

/// The Xen system time at which this vCPU's TSC read tsc (pvclock with a
/// given TSC; also right for a TSC taken before the last update).
uint64_t atTsc(uint64_t tsc);

/// Binds this vCPU's VIRQ_TIMER (once) and, like Linux, stops the periodic
/// timer. Returns 0 or the failing hypercall's result.
long initTimer();

/// VIRQ_TIMER events this vCPU has handled.
uint64_t timerEvents();

// VCPUOP_* on this vCPU (Xen only lets a vCPU set its own timers).
long setSingleshot(uint64_t deadlineNs, uint32_t flags);
long stopSingleshot();
long setPeriodic(uint64_t periodNs);
long stopPeriodic();

/// Blocks until Xen time >= deadlineNs using the singleshot timer
/// (VCPU_SSHOTTMR_future; -ETIME means it has passed). Returns 0 or an error.
long sleepUntil(uint64_t deadlineNs);
long sleepNs(uint64_t ns);

/// events::blockOnce() until cond() holds (true) or Xen time reaches
/// deadlineNs (false). Something must wake the vCPU for the deadline to be
/// noticed: an event or a timer the caller armed.
template <typename Cond>
bool waitUntil(Cond cond, uint64_t deadlineNs) {
  while (!cond()) {
    if (now() >= deadlineNs) return false;
    events::blockOnce();
  }
  return true;
}

}  // namespace xentime
