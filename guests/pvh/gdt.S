/* The GDT every vCPU uses. The TSS slots (one per vCPU from GDT_TSS) are
 * filled at run time (kernel/Tss.cpp) because a TSS descriptor splits its
 * base address across fields. */
#include "pvh/Boot.h"

.section .data, "aw"
.balign 16
.globl boot_gdt
boot_gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* GDT_KERNEL_CODE: 64-bit, DPL0 */
	.quad	0x00cf93000000ffff	/* GDT_KERNEL_DATA: flat, DPL0 */
	.quad	0x00cffb000000ffff	/* GDT_USER_CODE32: 32-bit, DPL3 (sysret layout) */
	.quad	0x00cff3000000ffff	/* GDT_USER_DATA: flat, DPL3 */
	.quad	0x00affb000000ffff	/* GDT_USER_CODE: 64-bit, DPL3 */
	.fill	2 * MAX_CPUS, 8, 0	/* GDT_TSS: a 16-byte system descriptor per vCPU */
boot_gdt_end:

.balign 8
.globl boot_gdt_ptr
boot_gdt_ptr:
	.word	boot_gdt_end - boot_gdt - 1
	.long	boot_gdt

/* The same GDT for lgdt in 64-bit mode, which reads an 8-byte base (APs). */
.balign 8
.globl boot_gdt_ptr64
boot_gdt_ptr64:
	.word	boot_gdt_end - boot_gdt - 1
	.quad	boot_gdt
