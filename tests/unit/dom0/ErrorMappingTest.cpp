// The API edges: errno -> gRPC code in smartvmd, gRPC status -> one-line message in the CLI.
#include <gtest/gtest.h>

#include "smartvm/dom0/api/GrpcStatus.h"
#include "smartvm/dom0/cli/RpcErrorFormat.h"

namespace smartvm::dom0 {
namespace {

TEST(GrpcStatus, ErrnoToCode) {
  using C = grpc::StatusCode;
  const std::pair<int, C> cases[] = {
      {0, C::OK},
      {EINVAL, C::INVALID_ARGUMENT},
      {ENOENT, C::NOT_FOUND},
      {ESRCH, C::NOT_FOUND},
      {EEXIST, C::ALREADY_EXISTS},
      {EPERM, C::PERMISSION_DENIED},
      {EACCES, C::PERMISSION_DENIED},
      {EBUSY, C::FAILED_PRECONDITION},
      {EALREADY, C::FAILED_PRECONDITION},
      {ENODEV, C::FAILED_PRECONDITION},
      {EAGAIN, C::UNAVAILABLE},
      {ENOMEM, C::RESOURCE_EXHAUSTED},
      {ENOSPC, C::RESOURCE_EXHAUSTED},
      {ENOSYS, C::UNIMPLEMENTED},
      {EOPNOTSUPP, C::UNIMPLEMENTED},
      {ETIMEDOUT, C::DEADLINE_EXCEEDED},
      {ECONNREFUSED, C::UNAVAILABLE},
      {ENOTCONN, C::UNAVAILABLE},
      {ECANCELED, C::CANCELLED},
      {ENOEXEC, C::INVALID_ARGUMENT},
      {EPROTO, C::INTERNAL},
      {EIO, C::INTERNAL},
      {12345, C::INTERNAL},
  };
  for (const auto& [code, expected] : cases) EXPECT_EQ(grpcCodeForErrno(code), expected) << errnoName(code);
}

TEST(GrpcStatus, KeepsTheMessage) {
  const grpc::Status s = toGrpcStatus(error(ESRCH, "domain 'web' not found"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "domain 'web' not found");
  EXPECT_TRUE(toGrpcStatus(Status::ok()).ok());
}

TEST(RpcErrorFormat, NoConnectionMeansSmartvmdIsNotThere) {
  const grpc::Status s(grpc::StatusCode::UNAVAILABLE, "failed to connect to all addresses");
  EXPECT_EQ(describeRpcError(s, "unix:/run/smartvm/smartvmd.sock", false),
            "cannot connect to smartvmd at unix:/run/smartvm/smartvmd.sock (is smartvmd running?)");
  const grpc::Status late(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
  EXPECT_EQ(describeRpcError(late, "127.0.0.1:1", false),
            "cannot connect to smartvmd at 127.0.0.1:1 (is smartvmd running?)");
}

TEST(RpcErrorFormat, ServerMessagesPassThrough) {
  const grpc::Status hv(
      grpc::StatusCode::UNAVAILABLE,
      "cannot reach smartvm-hv at /run/smartvm/hv.sock: No such file or directory (is smartvm-hv running?)");
  EXPECT_EQ(describeRpcError(hv, "unix:/x", true), hv.error_message());
  EXPECT_EQ(describeRpcError(grpc::Status(grpc::StatusCode::NOT_FOUND, "domain 'foo' not found"), "unix:/x", false),
            "domain 'foo' not found");
  EXPECT_EQ(describeRpcError(grpc::Status(grpc::StatusCode::NOT_FOUND, ""), "unix:/x", true), "smartvmd: not found");
}

}  // namespace
}  // namespace smartvm::dom0
