// spin: burns CPU at CPL3 forever (pause, destroy and CPU-time tests).
#include "kernel/Console.h"
#include "kernel/Shutdown.h"
#include "kernel/UserMode.h"
#include "workloads/Workloads.h"

void runSpin(const Cmdline&) {
  console::print("RESULT spin");
  user::run(spinForever, nullptr);
  fail("spin loop returned");
}
