#include "smartvm/dom0/xenstore/XenstoredOptions.h"

#include <CLI/CLI.hpp>

#include "smartvm/dom0/DaemonArgs.h"

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
  addLogOptions(app, opts.logFile, opts.logLevel);
  XenstoredArgs result;
  if (!parseDaemonArgs(app, argc, argv, result)) return result;
  result.options = std::move(opts);
  return result;
}

}  // namespace smartvm::dom0::xenstore
