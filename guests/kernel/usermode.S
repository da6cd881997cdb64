/* Running a function at CPL3. Only exceptions reach CPL0 from CPL3 on this
 * host (no syscall, no int N), so a finished task executes ud2 at
 * user_exit_ud2 and the #UD handler calls user_resume. Every vCPU may run a
 * task at once: the kernel stack to resume on is kept per vCPU, indexed by
 * PerCpu::id (at PERCPU_ID, found through %gs:0). */
#include "pvh/Boot.h"

#define PERCPU_ID 8 /* offsetof(PerCpu, id), checked in UserMode.cpp */

.text
/* void user_enter(void (*task)(void*), void* arg, uint64_t user_stack_top)
 * Returns (through user_resume) once task(arg) has returned at CPL3. */
.globl user_enter
user_enter:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%gs:0, %rax
	mov	PERCPU_ID(%rax), %eax
	lea	user_resume_rsp(%rip), %rcx
	mov	%rsp, (%rcx,%rax,8)
	pushq	$(GDT_USER_DATA | 3)
	push	%rdx
	pushq	$0x2			/* rflags: IF=0, IOPL=0 */
	pushq	$(GDT_USER_CODE | 3)
	lea	user_trampoline(%rip), %rax
	push	%rax
	mov	%rdi, %rax
	mov	%rsi, %rdi
	iretq

user_trampoline:			/* runs at CPL3 */
	call	*%rax
.globl user_exit_ud2
user_exit_ud2:
	ud2

/* [[noreturn]] void user_resume(void): back into user_enter's caller. */
.globl user_resume
user_resume:
	mov	%gs:0, %rax
	mov	PERCPU_ID(%rax), %eax
	lea	user_resume_rsp(%rip), %rcx
	mov	(%rcx,%rax,8), %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

.bss
.balign 8
user_resume_rsp:			/* one per vCPU id */
	.skip	8 * MAX_CPUS

.section .stacks, "aw", @nobits
.balign 16
	.skip	TRAP_STACK_SIZE
.globl trap_stack_top
trap_stack_top:
	.skip	USER_STACK_SIZE
.globl user_stack_top
user_stack_top:
