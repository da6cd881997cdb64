// Running workload code at CPL3, where this host executes it natively.
#pragma once
#include "kernel/TrapFrame.h"

namespace user {

using Task = void (*)(void* arg);

/// Runs task(arg) at CPL3 on the user stack and returns when it returns.
/// An exception inside the task ends the guest with FAIL instead.
void run(Task task, void* arg);

/// run(), on a given user stack: every vCPU running tasks at once needs its
/// own (run() uses vCPU 0's). The stack must be user-accessible RAM.
void run(Task task, void* arg, uint64_t userStackTop);

/// True when frame is the ud2 a finished task executes.
bool isExit(const TrapFrame& frame);

/// Continues after the run() whose task finished; called by the trap handler.
[[noreturn]] void resumeKernel();

/// The stack the CPU switches to on an exception from CPL3 (TSS rsp0).
uint64_t trapStackTop();

}  // namespace user
