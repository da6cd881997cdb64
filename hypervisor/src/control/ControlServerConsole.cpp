// The control socket's console input: keyboard bytes into a domain's console ring.
#include <cerrno>

#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {

namespace pb = smartvm::control::v1;

pb::Response ControlServer::consoleWrite(const pb::ConsoleWrite& w) {
  (void)w;
  pb::Response r;
  r.set_error_code(ENOSYS);
  r.set_error("console input is not served yet");
  return r;
}

}  // namespace smartvm::hv
