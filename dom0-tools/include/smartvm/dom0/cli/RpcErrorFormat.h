#pragma once
// The CLI's one-line error for a failed gRPC call. Pure function.
#include <grpcpp/support/status.h>

#include <string>

namespace smartvm::dom0 {

/// The message after "smartvm: " for a failed call to smartvmd at `target`.
/// `channelReady` is whether the channel was connected when the call failed:
/// an UNAVAILABLE or DEADLINE_EXCEEDED without a connection means smartvmd is
/// not there ("cannot connect to smartvmd at ... (is smartvmd running?)");
/// otherwise smartvmd's own message (which already names the problem) is used.
std::string describeRpcError(const grpc::Status& status, const std::string& target, bool channelReady);

}  // namespace smartvm::dom0
