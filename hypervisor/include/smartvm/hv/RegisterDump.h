#pragma once
// Human-readable vCPU state for crash reports.
#include "smartvm/hv/kvm/KvmAbi.h"

#include <string>

namespace smartvm::hv {

std::string formatRegisterDump(const kvm_regs& r, const kvm_sregs& s);
/// Xen's name for a SHUTDOWN_* reason ("poweroff", "crash", ...).
const char* shutdownReasonName(unsigned reason);

}  // namespace smartvm::hv
