// echo: console input through the Xen console ring's `in` side.
//   workload=echo [timeout_ms=<ms>]
// Prints "echo ready", reads one line (up to '\n' or '\r') and prints
// "RESULT echo line=<text> bytes=<n>". Needs the console ring.
#include "kernel/Console.h"
#include "kernel/ConsoleRing.h"
#include "kernel/Events.h"
#include "kernel/PortWait.h"
#include "kernel/Shutdown.h"
#include "kernel/XenTime.h"
#include "workloads/Workloads.h"

void runEcho(const Cmdline& cmdline) {
  const uint64_t timeoutMs = cmdline.numberOrFail("timeout_ms", 10000);
  if (timeoutMs == 0 || timeoutMs > 3600000) fail("timeout_ms= must be 1..3600000");
  if (!consolering::active())
    fail(Line().str("echo: no console ring (HVM_PARAM_CONSOLE_PFN=").hex(consolering::pfn())
             .str(" HVM_PARAM_CONSOLE_EVTCHN=").dec(consolering::port()).ch(')'));
  events::init();
  xentime::require("echo");
  console::print("echo ready");
  const uint64_t deadline = xentime::now() + timeoutMs * xentime::kNsPerMs;
  char line[200];
  size_t len = 0;
  for (;;) {
    portwait::clear(consolering::port());
    char c = 0;
    const long n = consolering::read(&c, 1);
    if (n < 0) fail("echo: the console ring's input indexes are inconsistent");
    if (n == 1) {
      if (c == '\n' || c == '\r') break;
      if (len < sizeof(line)) line[len++] = c;
      continue;
    }
    if (!portwait::wait(consolering::port(), deadline))
      fail(Line().str("echo: no complete line within ").dec(timeoutMs).str(" ms (got ").dec(len).str(" bytes)"));
  }
  console::print(Line().str("RESULT echo line=").str(Str(line, len)).str(" bytes=").dec(len));
}
