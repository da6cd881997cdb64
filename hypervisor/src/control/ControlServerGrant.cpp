// The control socket's grant operations for dom0 backends.
#include <cerrno>

#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {

namespace pb = smartvm::control::v1;

pb::Response ControlServer::grantOp(const pb::Request& req, Dom0PortOwner& owner, std::vector<UniqueFd>& fds) {
  (void)req;
  (void)owner;
  (void)fds;
  pb::Response r;
  r.set_error_code(ENOSYS);
  r.set_error("grant operations are not served yet");
  return r;
}

}  // namespace smartvm::hv
