// The CPL3 half of the spin workload.
#include "workloads/Workloads.h"

void spinForever(void*) {
  for (uint64_t i = 0;; ++i) asm volatile("" : : "r"(i));
}
