#pragma once
// <linux/kvm.h> for C++. Debian 12's UAPI headers wrap flexible arrays in
// __DECLARE_FLEX_ARRAY, whose empty struct has size 1 in C++: kvm_cpuid2 and
// friends grow by 4 bytes, so their ioctl numbers and layouts disagree with
// the kernel's. Redefine the macro as the kernel's C view before kvm.h uses it.
#include <linux/stddef.h>

#ifdef __cplusplus
#undef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(TYPE, NAME) TYPE NAME[0]
#endif

#include <linux/kvm.h>

static_assert(sizeof(struct kvm_cpuid2) == 8, "kvm_cpuid2 must match the kernel's layout");
static_assert(sizeof(struct kvm_msrs) == 8, "kvm_msrs must match the kernel's layout");
