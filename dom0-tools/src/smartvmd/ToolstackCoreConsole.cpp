// ToolstackCore's console input: keyboard bytes into a guest's console ring
// through smartvm-hv's console_write.
#include <fmt/format.h>

#include "smartvm/dom0/smartvmd/ToolstackCore.h"

namespace smartvm::dom0 {

using control::v1::Request;
using control::v1::Response;

Result<uint32_t> ToolstackCore::writeConsole(const v1::WriteConsoleRequest& request) const {
  const std::string& ref = request.domain().id();
  // Checked before anything else: a client streaming a file in one call should
  // learn the limit, not have part of it land in the ring.
  if (request.data().size() > kMaxConsoleWrite) {
    return error(EINVAL, fmt::format("console input of {} bytes is over the {}-byte limit of one WriteConsole; "
                                     "send it in pieces",
                                     request.data().size(), kMaxConsoleWrite));
  }
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  // Empty input still goes to smartvm-hv: it answers 0 or says the domain has
  // no console ring, which a client may use as a probe.
  Request control;
  control.mutable_console_write()->set_domid(domid);
  control.mutable_console_write()->set_data(request.data());
  SMARTVM_ASSIGN_OR_RETURN(const Response response, callOnDomain(std::move(control), ref));
  if (!response.has_console_written()) {
    return error(EPROTO, "smartvm-hv answered console_write without a byte count");
  }
  const uint32_t written = response.console_written().written();
  if (written > request.data().size()) {
    return error(EPROTO, fmt::format("smartvm-hv says it took {} of {} console bytes", written, request.data().size()));
  }
  return written;
}

}  // namespace smartvm::dom0
