// Any exit Smart-VM has no handler for crashes the domain, never the hypervisor.
#include <fmt/format.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

ExitAction handleUnknownExit(Vcpu& vcpu, uint32_t rawReason) {
  if (rawReason & 0x10000u) {
    vcpu.domain().crash(&vcpu, fmt::format("KVM_RUN failed: errno {}", rawReason & 0xffffu));
  } else {
    vcpu.domain().crash(&vcpu, fmt::format("unhandled exit reason {}", rawReason));
  }
  return ExitAction::Stop;
}

}  // namespace smartvm::hv
