/* PVH entry: the hypervisor starts us in 32-bit flat protected mode, paging
 * off, %ebx = guest-physical address of struct hvm_start_info. Switch to long
 * mode on the identity map (pagetables.S) and call kernel_main(start_info). */
#include <xen/elfnote.h>
#include "pvh/Boot.h"

/* Tells the domain builder where to enter (identity linked: phys == virt). */
.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f
	.long 4f - 3f
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.long pvh_start
4:	.balign 4

.section .text.boot32, "ax"
.code32
.globl pvh_start
pvh_start:
	cli
	cld
	mov	%ebx, %esi
	lgdt	boot_gdt_ptr
	mov	$GDT_KERNEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$kernel_stack_top, %esp

	/* bss is not cleared here: an ELF loader zero-fills p_memsz beyond
	 * p_filesz (Xen's libelf and smartvm's builder both do), and on a host
	 * that emulates CPL0 code each rep-stos iteration costs an emulated
	 * instruction, ~10 ms for this kernel's bss before its first exit. */

	/* OSFXSR/OSXMMEXCPT now, so CPL3 workloads may use SSE. */
	mov	$(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov	%eax, %cr4
	mov	$boot_pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	$(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$GDT_KERNEL_CODE, $long_mode_entry

.section .text.entry64, "ax"
.code64
long_mode_entry:
	mov	$kernel_stack_top, %rsp
	mov	%esi, %edi
	call	kernel_main
1:	cli
	hlt
	jmp	1b

.section .stacks, "aw", @nobits
.balign 16
	.skip	KERNEL_STACK_SIZE
.globl kernel_stack_top
kernel_stack_top:
