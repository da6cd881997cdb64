// KVM could not go on with the guest (often: an instruction it cannot emulate).
#include <fmt/format.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

ExitAction handleInternalErrorExit(Vcpu& vcpu, const InternalErrorExit& e) {
  std::string why = fmt::format("KVM internal error, suberror {}", e.suberror);
  if (e.suberror == KVM_INTERNAL_ERROR_EMULATION) why += " (instruction emulation failed)";
  for (uint32_t i = 0; i < e.ndata && i < 16; ++i) why += fmt::format(" {:#x}", e.data[i]);
  vcpu.domain().crash(&vcpu, why);
  return ExitAction::Stop;
}

}  // namespace smartvm::hv
