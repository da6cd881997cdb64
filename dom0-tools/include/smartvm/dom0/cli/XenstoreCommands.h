#pragma once
// smartvm's xenstore-ls, -read, -write, -rm, -list and -watch: Xen's xenstore
// tools, talking straight to smartvm-xenstored's socket as they do (as dom0),
// not through smartvmd.
#include <functional>
#include <ostream>
#include <string>

#include "smartvm/dom0/cli/CliArgs.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"

namespace smartvm::dom0 {

class XenstoreCommands {
 public:
  /// `stopped` is polled while xenstore-watch waits (tests end it; ^C ends the process).
  XenstoreCommands(std::ostream& out, std::ostream& err, std::function<bool()> stopped = {})
      : out_(out), err_(err), stopped_(std::move(stopped)) {}

  /// Runs one xenstore-* command; 0 on success, 1 after "smartvm: <problem>" on err.
  int run(const CliCommand& cmd);

  /// A value as xenstore-ls shows it: printable ASCII as is, the rest escaped (\n, \t, \\, \ooo).
  static std::string escape(const std::string& value);
  /// "PATH: no such node", "PATH: permission denied", ... for a failed request on PATH.
  static std::string describe(const std::string& path, const Status& s);

 private:
  int ls(xenstore::XenstoreClient& xs, const CliCommand& cmd);
  /// Prints the children of `path` at `depth`; false after a failure was reported.
  bool lsTree(xenstore::XenstoreClient& xs, const std::string& path, int depth, bool perms);
  int read(xenstore::XenstoreClient& xs, const CliCommand& cmd);
  int write(xenstore::XenstoreClient& xs, const CliCommand& cmd);
  int rm(xenstore::XenstoreClient& xs, const CliCommand& cmd);
  int list(xenstore::XenstoreClient& xs, const CliCommand& cmd);
  int watch(xenstore::XenstoreClient& xs, const CliCommand& cmd);
  int fail(const std::string& message);

  std::ostream& out_;
  std::ostream& err_;
  std::function<bool()> stopped_;
};

}  // namespace smartvm::dom0
