#include "kernel/Shutdown.h"

#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"
#include "kernel/Xen.h"

namespace {

[[noreturn]] void shutdown(unsigned reason) {
  if (xen::ready()) {
    console::flush();  // what is still in the console ring would be lost
    sched_shutdown request{};
    request.reason = reason;
    xen::schedOp(SCHEDOP_shutdown, &request);
  }
  // Only reached when the hypervisor ignored the request.
  cpu::haltForever();
}

}  // namespace

void powerOff() { shutdown(SHUTDOWN_poweroff); }

void crash() { shutdown(SHUTDOWN_crash); }

void shutdownWith(unsigned reason) { shutdown(reason); }

void fail(Str reason) {
  Line line;
  line.str("FAIL ").str(reason);
  console::print(line);
  crash();
}

void fail(const Line& reason) { fail(reason.view()); }
