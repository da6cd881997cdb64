#include "kernel/UserMode.h"

#include <stddef.h>

#include "kernel/PerCpu.h"

// usermode.S finds the vCPU's slot for its resume stack with PerCpu::id.
static_assert(offsetof(PerCpu, id) == 8, "update PERCPU_ID in usermode.S");

extern "C" {
void user_enter(user::Task task, void* arg, uint64_t userStackTop);
[[noreturn]] void user_resume();
extern char user_exit_ud2[];
extern char user_stack_top[];
extern char trap_stack_top[];
}

namespace user {
namespace {

constexpr uint64_t kUdVector = 6;

}  // namespace

void run(Task task, void* arg) { user_enter(task, arg, reinterpret_cast<uintptr_t>(user_stack_top)); }

void run(Task task, void* arg, uint64_t userStackTop) { user_enter(task, arg, userStackTop); }

bool isExit(const TrapFrame& frame) {
  return frame.vector == kUdVector && (frame.cs & 3) == 3 && frame.rip == reinterpret_cast<uintptr_t>(user_exit_ud2);
}

void resumeKernel() { user_resume(); }

uint64_t trapStackTop() { return reinterpret_cast<uintptr_t>(trap_stack_top); }

}  // namespace user
