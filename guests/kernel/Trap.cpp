// The one C++ exception handler: a finished CPL3 task is the only expected
// exception; everything else is reported and crashes the domain.
#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Shutdown.h"
#include "kernel/TrapFrame.h"
#include "kernel/UserMode.h"

namespace {

constexpr uint64_t kPageFault = 14;

const char* const kNames[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
                                "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
                                "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31"};

}  // namespace

extern "C" void trap_dispatch(TrapFrame* frame) {
  if (user::isExit(*frame)) user::resumeKernel();
  Line why;
  why.str("exception vec=").dec(frame->vector);
  why.str(" (").str(kNames[frame->vector & 31]).str(") rip=").hex(frame->rip);
  why.str(" err=").hex(frame->error).str(" cpl=").dec(frame->cs & 3).str(" rsp=").hex(frame->rsp);
  if (frame->vector == kPageFault) why.str(" cr2=").hex(cpu::readCr2());
  fail(why);
}
