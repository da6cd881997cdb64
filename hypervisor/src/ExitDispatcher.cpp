#include "smartvm/hv/ExitDispatcher.h"

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

const char* exitReasonName(ExitReason r) {
  switch (r) {
    case ExitReason::Io: return "io";
    case ExitReason::Mmio: return "mmio";
    case ExitReason::MsrRead: return "msr_read";
    case ExitReason::MsrWrite: return "msr_write";
    case ExitReason::Hlt: return "hlt";
    case ExitReason::Shutdown: return "shutdown";
    case ExitReason::InternalError: return "internal_error";
    case ExitReason::FailEntry: return "fail_entry";
    case ExitReason::Interrupted: return "interrupted";
    case ExitReason::Unknown: return "unknown";
    case ExitReason::Count: break;
  }
  return "?";
}

ExitAction ExitDispatcher::dispatch(Vcpu& vcpu, VcpuExit& exit) const {
  vcpu.domain().counters().countExit(exit.reason);
  switch (exit.reason) {
    case ExitReason::Io: return handleIoExit(vcpu, exit.io, hypercalls_);
    case ExitReason::Mmio: return handleMmioExit(vcpu, exit.mmio);
    case ExitReason::MsrRead: return handleMsrExit(vcpu, exit.msr, false);
    case ExitReason::MsrWrite: return handleMsrExit(vcpu, exit.msr, true);
    case ExitReason::Hlt: return handleHltExit(vcpu);
    case ExitReason::Shutdown: return handleShutdownExit(vcpu);
    case ExitReason::InternalError: return handleInternalErrorExit(vcpu, exit.internal);
    case ExitReason::FailEntry: return handleFailEntryExit(vcpu, exit.failEntryReason);
    case ExitReason::Interrupted: return ExitAction::Continue;  // a kick: the loop checks why
    case ExitReason::Unknown:
    case ExitReason::Count: break;
  }
  return handleUnknownExit(vcpu, exit.rawReason);
}

}  // namespace smartvm::hv
