// The WriteConsole call of the Toolstack service: console input at the gRPC edge.
#include <spdlog/spdlog.h>

#include "smartvm/dom0/api/GrpcStatus.h"
#include "smartvm/dom0/smartvmd/ToolstackService.h"

namespace smartvm::dom0 {

grpc::Status ToolstackService::WriteConsole(grpc::ServerContext*, const v1::WriteConsoleRequest* req,
                                            v1::WriteConsoleResponse* out) {
  const std::string& ref = req->domain().id();
  auto result = core_.writeConsole(*req);
  if (result.isOk()) {
    out->set_written(*result);
    // Keystrokes are the user's (passwords included): only their count is logged, at debug.
    spdlog::debug("WriteConsole '{}': {} of {} bytes taken", ref, *result, req->data().size());
    return grpc::Status::OK;
  }
  const Status& s = result.status();
  // A full ring is not an error (written < size), so anything here is worth a warning.
  spdlog::warn("WriteConsole '{}': {}", ref, s.toString());
  return toGrpcStatus(s);
}

}  // namespace smartvm::dom0
