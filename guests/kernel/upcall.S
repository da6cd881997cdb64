/* IDT entries for the event channel upcall vector and the LAPIC spurious
 * vector. The upcall saves the registers a C call may clobber and calls
 * upcall_dispatch (kernel/Events.cpp), which also sends the EOI if needed. */
.text
.balign 16
.globl upcall_entry
upcall_entry:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	cld
	call	upcall_dispatch
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq

/* A spurious interrupt is not in service: no EOI. */
.balign 16
.globl spurious_entry
spurious_entry:
	iretq
