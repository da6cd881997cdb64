/* Constants shared by the boot assembly and the C++ kernel: GDT selectors,
 * control-register bits and stack sizes. Architectural numbers only; the Xen
 * ABI comes from <xen/...>. */
#pragma once

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_CODE32 0x18
#define GDT_USER_DATA 0x20
#define GDT_USER_CODE 0x28
#define GDT_TSS 0x30 /* vCPU n's TSS is at GDT_TSS + 16 * n */
#define MAX_CPUS 32    /* vcpu_info slots in shared_info (XEN_LEGACY_MAX_VCPUS) */
#define GDT_ENTRIES (6 + 2 * MAX_CPUS)

#define CR0_PE 0x1
#define CR0_MP 0x2
#define CR0_ET 0x10
#define CR0_NE 0x20
#define CR0_WP 0x10000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define CR4_OSFXSR 0x200
#define CR4_OSXMMEXCPT 0x400
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define EFER_LMA 0x400
#define MSR_GS_BASE 0xc0000101

#define KERNEL_STACK_SIZE 0x8000
#define TRAP_STACK_SIZE 0x4000
#define USER_STACK_SIZE 0x10000
#define AP_STACK_SIZE 0x4000
