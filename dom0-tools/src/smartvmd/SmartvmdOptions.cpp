#include "smartvm/dom0/smartvmd/SmartvmdOptions.h"

#include <CLI/CLI.hpp>
#include <sstream>

namespace smartvm::dom0 {

SmartvmdArgs parseSmartvmdArgs(int argc, const char* const* argv) {
  SmartvmdOptions opts;
  CLI::App app{
      "smartvmd: the Smart-VM toolstack daemon. Serves the smartvm.v1.Toolstack gRPC API and "
      "drives smartvm-hv over its control socket.",
      "smartvmd"};
  app.add_option("--listen", opts.listen, "where to serve the API: unix:/path or host:port")->capture_default_str();
  app.add_option("--hv-socket", opts.hvSocket, "smartvm-hv's control socket")->capture_default_str();
  app.add_option("--xenstored-socket", opts.xenstoredSocket,
                 "smartvm-xenstored's socket: domains' xenstore nodes and INTRODUCE; \"\" for none "
                 "(domains start without xenstored, with a warning)")
      ->capture_default_str();
  app.add_option("--log-file", opts.logFile, "log file (its directory is created); empty for stderr only")
      ->capture_default_str();
  app.add_option("--log-level", opts.logLevel, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  SmartvmdArgs result;
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

}  // namespace smartvm::dom0
