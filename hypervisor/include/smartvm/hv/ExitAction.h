#pragma once

namespace smartvm::hv {

/// What the vCPU loop does after an exit has been handled.
enum class ExitAction {
  Continue,  ///< re-enter the guest
  Stop,      ///< leave the loop: the vCPU went down or its domain shut down
};

}  // namespace smartvm::hv
