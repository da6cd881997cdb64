#include "smartvm/dom0/cli/RpcErrorFormat.h"

#include <fmt/format.h>

namespace smartvm::dom0 {
namespace {

const char* codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED: return "cancelled";
    case grpc::StatusCode::INVALID_ARGUMENT: return "invalid argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "timed out";
    case grpc::StatusCode::NOT_FOUND: return "not found";
    case grpc::StatusCode::ALREADY_EXISTS: return "already exists";
    case grpc::StatusCode::PERMISSION_DENIED: return "permission denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "out of resources";
    case grpc::StatusCode::FAILED_PRECONDITION: return "not possible in the domain's current state";
    case grpc::StatusCode::UNIMPLEMENTED: return "not implemented";
    case grpc::StatusCode::UNAVAILABLE: return "unavailable";
    default: return "internal error";
  }
}

}  // namespace

std::string describeRpcError(const grpc::Status& status, const std::string& target, bool channelReady) {
  const grpc::StatusCode code = status.error_code();
  const bool transport = code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
  if (transport && !channelReady) {
    return fmt::format("cannot connect to smartvmd at {} (is smartvmd running?)", target);
  }
  if (status.error_message().empty()) return fmt::format("smartvmd: {}", codeName(code));
  return status.error_message();
}

}  // namespace smartvm::dom0
