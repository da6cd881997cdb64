#include "smartvm/dom0/api/GrpcStatus.h"

namespace smartvm::dom0 {

grpc::StatusCode grpcCodeForErrno(int code) {
  switch (code) {
    case 0: return grpc::StatusCode::OK;
    case EINVAL:
    case ERANGE:
    case E2BIG:
    case ENAMETOOLONG:
    case ENOEXEC: return grpc::StatusCode::INVALID_ARGUMENT;
    case ENOENT:
    case ESRCH: return grpc::StatusCode::NOT_FOUND;
    case EEXIST: return grpc::StatusCode::ALREADY_EXISTS;
    case EPERM:
    case EACCES: return grpc::StatusCode::PERMISSION_DENIED;
    // EBUSY and EALREADY say the domain is in the wrong state for the call: retrying will not help.
    case EBUSY:
    case EALREADY:
    // ENODEV: the domain lacks the device the call needs (a console ring): it will not appear by retrying.
    case ENODEV: return grpc::StatusCode::FAILED_PRECONDITION;
    case EAGAIN: return grpc::StatusCode::UNAVAILABLE;
    case ENOMEM:
    case ENOSPC: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ENOSYS:
    case EOPNOTSUPP: return grpc::StatusCode::UNIMPLEMENTED;
    case ETIMEDOUT: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case ECONNREFUSED:
    case ENOTCONN:
    case ECONNRESET:
    case EPIPE: return grpc::StatusCode::UNAVAILABLE;
    case ECANCELED: return grpc::StatusCode::CANCELLED;
    default: return grpc::StatusCode::INTERNAL;
  }
}

grpc::Status toGrpcStatus(const Status& status) {
  if (status.isOk()) return grpc::Status::OK;
  return grpc::Status(grpcCodeForErrno(status.code()), status.message());
}

}  // namespace smartvm::dom0
