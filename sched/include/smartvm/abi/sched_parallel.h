/* Smart-VM's guest ABI extension for the parallel-task scheduler: a guest
 * opens and closes a parallel phase of its work and reports the end of each
 * layer of it, so that the "parallel" policy can gang-schedule the vCPUs taking
 * part. C, freestanding (guests include it); documented in docs/guest-abi.md.
 *
 *   struct smartvm_sched_parallel p = { .op = SMARTVM_PARALLEL_begin };
 *   HYPERVISOR_sched_op(SMARTVM_SCHEDOP_parallel, &p);
 *
 * The calling vCPU is the subject. Returns 0; -EINVAL for an unknown op or one
 * that makes no sense in the vCPU's state (end or layer_done outside a phase,
 * begin inside one; begin in a domain whose config made it concurrent is 0;
 * a second layer_done before the layer completed in the policy's view means
 * the guest's barrier let the vCPU through, and starts the next layer);
 * -ENOSYS where the host has
 * no such extension (Xen itself): a guest then simply goes on without it.
 * Policies other than "parallel" accept and ignore the calls. */
#ifndef SMARTVM_ABI_SCHED_PARALLEL_H
#define SMARTVM_ABI_SCHED_PARALLEL_H

#include <stdint.h>

/* A sched_op command far from Xen's (0..~11): 'S','P' in the high bytes. */
#define SMARTVM_SCHEDOP_parallel 0x53500000

#define SMARTVM_PARALLEL_begin 0      /* this vCPU joins its domain's parallel task */
#define SMARTVM_PARALLEL_end 1        /* this vCPU leaves it */
#define SMARTVM_PARALLEL_layer_done 2 /* this vCPU finished its part of the current layer */

struct smartvm_sched_parallel {
  uint32_t op;  /* SMARTVM_PARALLEL_* */
  uint32_t pad; /* must be 0 */
};

#endif
