// A triple fault: the guest cannot go on. Only its domain crashes.
#include <fmt/format.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

ExitAction handleShutdownExit(Vcpu& vcpu) {
  vcpu.domain().crash(&vcpu, "triple fault");
  return ExitAction::Stop;
}

}  // namespace smartvm::hv
