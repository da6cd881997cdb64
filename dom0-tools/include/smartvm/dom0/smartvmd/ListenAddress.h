#pragma once
// smartvmd's --listen value: "unix:/path" (the default) or "host:port".
#include <string>

#include "smartvm/Result.h"

namespace smartvm::dom0 {

/// A parsed listen address.
struct ListenAddress {
  std::string grpcUri;   ///< what grpc::ServerBuilder::AddListeningPort takes
  std::string unixPath;  ///< the socket path for unix addresses, empty for TCP

  /// Parses "unix:/path", "unix:///path" or "host:port" ("127.0.0.1:50051", "[::1]:50051"). EINVAL otherwise.
  static Result<ListenAddress> parse(const std::string& text);

  /// For a unix address: creates the parent directory and refuses (EADDRINUSE) a
  /// socket another daemon still answers on, or (EEXIST) a path that is not a socket.
  /// gRPC replaces the socket file itself, so this check is what keeps two
  /// smartvmds from stealing each other's socket.
  Status prepare() const;
};

}  // namespace smartvm::dom0
