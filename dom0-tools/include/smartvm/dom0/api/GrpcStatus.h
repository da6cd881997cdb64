#pragma once
// The API edge: smartvm::Status (errno codes) to grpc::Status and back.
#include <grpcpp/support/status.h>

#include "smartvm/Status.h"

namespace smartvm::dom0 {

/// The gRPC code for a positive errno value (EINVAL -> INVALID_ARGUMENT, ESRCH -> NOT_FOUND, ...).
grpc::StatusCode grpcCodeForErrno(int code);

/// `status` as a gRPC status carrying its message; OK stays OK.
grpc::Status toGrpcStatus(const Status& status);

}  // namespace smartvm::dom0
