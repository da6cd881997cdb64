#pragma once
// Xen's credit1 scheduler ("credit"), after xen/common/sched/credit.c.
//
// Every vCPU earns credit in proportion to its domain's weight and burns 10
// credits per millisecond it runs. A vCPU with credit left runs at priority
// UNDER, one that overspent at OVER; a vCPU woken from block while UNDER is
// BOOSTed until its next tick, so latency-sensitive vCPUs preempt CPU hogs.
// Each pCPU has a runqueue ordered by priority (FIFO within one); a pCPU that
// would otherwise idle or run OVER work steals higher-priority work from other
// pCPUs' runqueues. Credit is handed out once per time slice (3 ticks).
//
// Parameters (SchedPolicy::domainParams / setDomainParams), as `xl sched-credit`:
//   "weight"  relative CPU share, 1..65535, default 256.
//   "cap"     most CPU the domain may use, in percent of one pCPU; 0 = no cap;
//             0..100 * number of pCPUs. A capped domain's vCPUs that overspend
//             are parked (not run) until accounting gives them credit again.
// Global (globalParams / setGlobalParams):
//   "tslice_ms"     time slice and accounting period, 1..1000 ms, default 30.
//   "ratelimit_us"  least time a vCPU runs before it can be preempted, 0 (off)
//                   or 100..500000 us and at most the time slice; default 1000.
// Out-of-range values and unknown keys are refused with EINVAL, nothing applied.
//
// The framework must call tick() every tickPeriod() (tslice / 3) on every pCPU,
// idle ones included: pCPU 0's tick also runs the once-per-slice accounting.
#include <memory>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched {

/// Creates the credit policy over `host`'s pCPUs (pcpuCount() of them, all available).
std::unique_ptr<SchedPolicy> makeCreditPolicy(SchedHost& host);

}  // namespace smartvm::sched
