#pragma once
// `smartvm console`: streams a domain's console to the terminal until the
// domain is gone or the user detaches (Ctrl-] or SIGINT).
#include <ostream>
#include <string>

#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {

class ConsoleAttach {
 public:
  /// The byte that detaches, as in xl console (Ctrl-]).
  static constexpr char kDetachByte = 0x1d;

  struct Options {
    /// Watched for Ctrl-] when it is a terminal (put in non-canonical mode
    /// meanwhile); a terminal hangup (EOF) also detaches. A non-terminal input
    /// is not read, so `smartvm console d </dev/null >log` records until the
    /// domain is gone. -1: no input.
    int inputFd = -1;
    /// Whether SIGINT detaches (the CLI) or is left alone (tests).
    bool detachOnSigint = false;
  };

  /// What ended the stream.
  enum class End { DomainGone, Detached, Failed };

  ConsoleAttach(v1::Toolstack::StubInterface& stub, std::ostream& out, Options options)
      : stub_(stub), out_(out), options_(options) {}

  /// Streams the console of `domain` (name or domid) from its first buffered
  /// byte. On Failed, `status` holds the stream's error.
  End run(const std::string& domain, grpc::Status& status);

 private:
  v1::Toolstack::StubInterface& stub_;
  std::ostream& out_;
  Options options_;
};

}  // namespace smartvm::dom0
