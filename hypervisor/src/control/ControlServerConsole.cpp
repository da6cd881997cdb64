// The control socket's console input: keyboard bytes into a domain's console ring.
#include <cerrno>
#include <string>

#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {

namespace pb = smartvm::control::v1;

pb::Response ControlServer::consoleWrite(const pb::ConsoleWrite& w) {
  pb::Response r;
  auto d = hv_.find(w.domid());
  if (!d) {
    r.set_error_code(ESRCH);
    r.set_error("no domain with id " + std::to_string(w.domid()));
    return r;
  }
  auto n = d->consoleInput(w.data());
  if (!n) {
    r.set_error_code(n.status().code());
    r.set_error(n.status().message());
    return r;
  }
  r.mutable_console_written()->set_written(static_cast<uint32_t>(*n));
  return r;
}

}  // namespace smartvm::hv
