#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

// Only seen without an in-kernel LAPIC (KVM halts in the kernel otherwise).
ExitAction handleHltExit(Vcpu& vcpu) {
  constexpr uint64_t kIf = 1u << 9;
  if ((vcpu.backend().regs().rflags & kIf) == 0) {
    // Xen: HLT with interrupts off can never wake, so the vCPU goes down.
    vcpu.domain().log().info("vCPU{}: hlt with interrupts disabled: vCPU down", vcpu.id());
    vcpu.domain().takeVcpuDown(vcpu);
    return ExitAction::Continue;
  }
  vcpu.block();
  return ExitAction::Continue;
}

}  // namespace smartvm::hv
