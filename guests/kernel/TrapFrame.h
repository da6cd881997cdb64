// The stack layout kernel/exceptions.S builds before calling trap_dispatch.
#pragma once
#include <stdint.h>

struct TrapFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error;
  // Pushed by the CPU.
  uint64_t rip, cs, rflags, rsp, ss;
};
