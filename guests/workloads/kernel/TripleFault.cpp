// triplefault: no IDT left to deliver #UD, so the CPU shuts down; the
// hypervisor must report the domain as crashed.
#include "kernel/Console.h"
#include "kernel/Idt.h"
#include "kernel/Shutdown.h"
#include "workloads/Workloads.h"

void runTripleFault(const Cmdline&) {
  console::print("triplefault: loading an empty IDT and executing ud2");
  idt::loadEmpty();
  asm volatile("ud2");
  fail("still running after a triple fault");
}
