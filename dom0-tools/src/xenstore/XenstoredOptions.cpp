#include "smartvm/dom0/xenstore/XenstoredOptions.h"

#include <CLI/CLI.hpp>
#include <sstream>

namespace smartvm::dom0::xenstore {

XenstoredArgs parseXenstoredArgs(int argc, const char* const* argv) {
  XenstoredOptions opts;
  CLI::App app{
      "smartvm-xenstored: the xenstore daemon of dom0. Serves the Xen xenstore wire protocol "
      "(docs/misc/xenstore.txt) to dom0 clients on a Unix socket and to guests on their rings "
      "(attached on INTRODUCE through smartvm-hv).",
      "smartvm-xenstored"};
  app.add_option("--socket", opts.socket, "Unix socket to serve; clients on it act as dom0")->capture_default_str();
  app.add_option("--hv-socket", opts.hvSocket,
                 "smartvm-hv's control socket: maps guests' rings, binds their ports, tells dead domains")
      ->capture_default_str();
  app.add_option("--log-file", opts.logFile, "log file (its directory is created); empty for stderr only")
      ->capture_default_str();
  app.add_option("--log-level", opts.logLevel, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  XenstoredArgs result;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    result.exitCode = app.exit(e, out, err);
    result.out = out.str();
    result.err = err.str();
    return result;
  }
  result.options = std::move(opts);
  return result;
}

}  // namespace smartvm::dom0::xenstore
