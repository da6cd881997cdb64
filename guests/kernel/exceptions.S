/* Entry stubs for the 32 exception vectors, 16 bytes apart so kernel/Idt.cpp
 * can find stub v at exception_stubs + 16 * v. Each pushes a zero error code
 * where the CPU pushes none, then the vector number. */
.text
.balign 16
.globl exception_stubs
exception_stubs:
	.set	vec, 0
	.rept	32
	.balign	16
	.if (vec == 8) | (vec == 10) | (vec == 11) | (vec == 12) | (vec == 13) | (vec == 14) | (vec == 17) | (vec == 21) | (vec == 29) | (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	exception_common
	.set	vec, vec + 1
	.endr

exception_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	trap_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp
	iretq
