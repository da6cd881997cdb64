// The guest state was refused at VM entry.
#include <fmt/format.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

ExitAction handleFailEntryExit(Vcpu& vcpu, uint64_t hardwareReason) {
  vcpu.domain().crash(&vcpu, fmt::format("VM entry failed, hardware reason {:#x}", hardwareReason));
  return ExitAction::Stop;
}

}  // namespace smartvm::hv
