/* The page the hypervisor fills with hypercall stubs when the guest writes
 * its address to the MSR named by CPUID leaf base+2 (kernel/Xen.cpp). */
.section .bss.hypercall_page, "aw", @nobits
.balign 4096
.globl hypercall_page
hypercall_page:
	.skip	4096
