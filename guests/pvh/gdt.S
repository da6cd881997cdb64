/* The boot GDT. Slot GDT_TSS is filled at run time (kernel/Tss.cpp) because
 * a TSS descriptor splits its base address across fields. */
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
	.quad	0, 0			/* GDT_TSS: 16-byte system descriptor */
boot_gdt_end:

.balign 8
.globl boot_gdt_ptr
boot_gdt_ptr:
	.word	boot_gdt_end - boot_gdt - 1
	.long	boot_gdt
