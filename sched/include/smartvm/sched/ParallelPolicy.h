#pragma once
// The parallel-task policy ("parallel"): gang scheduling of concurrent work on
// top of Xen's credit policy for common work.
//
// Work is typed. Common (COM) work is scheduled by an inner "credit" policy.
// Concurrent (CON) work is a domain's task: the set of its vCPUs in a parallel
// phase (the whole domain when its config says `sched_work = "concurrent"`, or
// per vCPU between the guest's SCHEDOP parallel-phase begin and end). A task
// of V runnable vCPUs gets a pCPU for each of them at the same moment when V
// fits in the free pCPUs; a task wider than the machine runs in batches of N.
// pCPUs a gang uses are lent away from the credit policy for the batch (as
// Xen moves pCPUs between cpupools) and handed back the moment their vCPU
// blocks, finishes its part of the task's current layer, or the batch ends.
// When every vCPU of a task has finished the layer, the task's next layer is
// dispatched at once, ahead of tasks waiting in the queue: a task in progress
// does not wait for unrelated tasks; the vCPU that finished the layer last
// keeps its pCPU. A vCPU that says ConcurrentEnd on its gang pCPU keeps it
// for 1 ms, so a Begin of the guest's next task continues the gang. A task
// whose batch ran out while it held no pCPU is requeued at the next dispatch
// or tick, so a task never waits forever (docs/scheduler.md).
//
// Fairness: while common work is runnable, gangs may take at most
// `gang_share` percent of the machine's pCPU time in each `tslice` window, so
// a domain with only common work never starves; among common domains the
// credit policy's weights and caps hold as usual.
//
// Parameters. Per domain: "weight", "cap" (credit's), "concurrent" (0 or 1).
// Global: "gang_slice_ms" (1..1000, default 30), "gang_share" (1..100, default
// 80), and credit's "tslice_ms", "ratelimit_us".
#include <memory>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched {

/// Creates the parallel policy; its common-work policy is the registered "credit".
std::unique_ptr<SchedPolicy> makeParallelPolicy(SchedHost& host);
/// The same over a given common-work policy, which must support
/// setPcpuAvailable (tests pass their own).
std::unique_ptr<SchedPolicy> makeParallelPolicy(SchedHost& host, std::unique_ptr<SchedPolicy> common);

}  // namespace smartvm::sched
