#pragma once
// VM-exit dispatch: one switch on the exit reason, one handler per file in
// src/exits/. Handlers see only the Vcpu (and through it the Domain and the
// backend), so tests feed them fake exits without /dev/kvm.
#include "smartvm/hv/ExitAction.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"
#include "smartvm/hv/kvm/VcpuExit.h"

namespace smartvm::hv {

class Vcpu;

class ExitDispatcher {
 public:
  explicit ExitDispatcher(const HypercallTable& hypercalls) : hypercalls_(hypercalls) {}
  ExitAction dispatch(Vcpu& vcpu, VcpuExit& exit) const;

 private:
  const HypercallTable& hypercalls_;
};

// One handler per exit reason (src/exits/<Name>.cpp).
ExitAction handleIoExit(Vcpu& vcpu, IoExit& io, const HypercallTable& hypercalls);
ExitAction handleMmioExit(Vcpu& vcpu, MmioExit& mmio);
ExitAction handleMsrExit(Vcpu& vcpu, MsrExit& msr, bool write);
ExitAction handleHltExit(Vcpu& vcpu);
ExitAction handleShutdownExit(Vcpu& vcpu);
ExitAction handleInternalErrorExit(Vcpu& vcpu, const InternalErrorExit& e);
ExitAction handleFailEntryExit(Vcpu& vcpu, uint64_t hardwareReason);
ExitAction handleUnknownExit(Vcpu& vcpu, uint32_t rawReason);

}  // namespace smartvm::hv
