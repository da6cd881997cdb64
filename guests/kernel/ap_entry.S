/* Where secondary vCPUs start. VCPUOP_initialise (VCPU_HVM_MODE_64B) enters
 * here in long mode with flat segments Xen made up, no GDT and no IDT,
 * %rsp = the AP's stack top and %rdi = its PerCpu. Load the kernel GDT,
 * reload every segment (CS and SS through iretq) and call ap_main. */
#include "pvh/Boot.h"

.text
.globl ap_entry
ap_entry:
	lgdt	boot_gdt_ptr64(%rip)
	mov	$GDT_KERNEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%rsp, %rax
	pushq	$GDT_KERNEL_DATA
	push	%rax
	pushq	$0x2			/* rflags: interrupts off */
	pushq	$GDT_KERNEL_CODE
	lea	1f(%rip), %rax
	push	%rax
	iretq
1:	call	ap_main
2:	cli
	hlt
	jmp	2b
