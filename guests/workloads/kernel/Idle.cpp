// idle: a guest that stays up, yielding, until the toolstack stops it.
#include "kernel/Console.h"
#include "kernel/Hypercall.h"
#include "workloads/Workloads.h"

void runIdle(const Cmdline&) {
  console::print("RESULT idle");
  for (;;) xen::schedOp(SCHEDOP_yield, nullptr);
}
