/* Identity map of the first 4 GiB with 2 MiB pages, built at link time so
 * the (emulated, slow) CPL0 boot path has no loop to run. U/S is set
 * everywhere: CPL3 workloads share the kernel's address space. */
#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PS 0x80
#define PTE_TABLE (PTE_P | PTE_RW | PTE_US)

.section .data.pagetables, "aw"
.balign 4096
.globl boot_pml4
boot_pml4:
	.quad	boot_pdpt + PTE_TABLE
	.fill	511, 8, 0
boot_pdpt:
	.quad	boot_pd + 0x0000 + PTE_TABLE
	.quad	boot_pd + 0x1000 + PTE_TABLE
	.quad	boot_pd + 0x2000 + PTE_TABLE
	.quad	boot_pd + 0x3000 + PTE_TABLE
	.fill	508, 8, 0
boot_pd:
	.set	i, 0
	.rept	2048
	.quad	(i << 21) | PTE_TABLE | PTE_PS
	.set	i, i + 1
	.endr
