// smartvmd: the toolstack daemon. Serves the Toolstack API until SIGTERM or
// SIGINT; guests live in smartvm-hv and keep running when it stops.
#include <signal.h>

#include <cstdio>

#include "smartvm/Log.h"
#include "smartvm/dom0/smartvmd/SmartvmdOptions.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"

namespace {

constexpr std::chrono::seconds kShutdownGrace{5};

int fail(const smartvm::Status& s) {
  std::fprintf(stderr, "smartvmd: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = smartvm::dom0::parseSmartvmdArgs(argc, argv);
  std::fputs(args.out.c_str(), stdout);
  std::fputs(args.err.c_str(), stderr);
  if (!args.options) return args.exitCode;
  const auto& opts = *args.options;

  if (auto s = smartvm::initLogging({"smartvmd", opts.logFile, opts.logLevel}); !s.isOk()) return fail(s);
  // Block the stop signals before gRPC starts its threads, so that only sigwait below sees them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  smartvm::dom0::SmartvmdServer server(opts.hvSocket, opts.xenstoredSocket);
  server.logConsoles({.dir = opts.consoleLogDir, .maxBytes = opts.consoleLogSize, .keep = opts.consoleLogKeep});
  if (auto s = server.start(opts.listen); !s.isOk()) {
    spdlog::error("{}", s.toString());
    return 1;
  }
  int sig = 0;
  sigwait(&stopSignals, &sig);
  spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.shutdown(kShutdownGrace);
  spdlog::info("smartvmd stopped");
  return 0;
}
