#pragma once
// `smartvm console`: streams a domain's console to the terminal and the
// user's keys to the guest until the domain is gone or the user detaches
// (Ctrl-] or a signal), as xl console does.
#include <ostream>
#include <string>

#include "smartvm/dom0/cli/ConsoleInput.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {

class ConsoleAttach {
 public:
  /// The byte that detaches, as in xl console (Ctrl-]).
  static constexpr char kDetachByte = ConsoleInput::kDetachByte;

  struct Options {
    /// The user's keys. A terminal is put in raw mode meanwhile (every key,
    /// Ctrl-C included, goes to the guest; Ctrl-] detaches; a hangup detaches).
    /// Other input (a pipe, a file, /dev/null) is sent as it is until its end,
    /// then the console keeps printing until the domain is gone. -1: no input.
    int inputFd = -1;
    /// Whether SIGINT, SIGTERM and SIGHUP detach (the CLI) or are left alone (tests).
    bool detachOnSignals = false;
  };

  /// What ended the stream.
  enum class End { DomainGone, Detached, Failed };

  ConsoleAttach(v1::Toolstack::StubInterface& stub, std::ostream& out, Options options)
      : stub_(stub), out_(out), options_(options) {}

  /// Streams the console of `domain` (name or domid) from its first buffered
  /// byte. On Failed, `status` holds the error (of the stream, or of sending input).
  End run(const std::string& domain, grpc::Status& status);

 private:
  v1::Toolstack::StubInterface& stub_;
  std::ostream& out_;
  Options options_;
};

}  // namespace smartvm::dom0
