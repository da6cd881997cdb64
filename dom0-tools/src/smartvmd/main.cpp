// smartvmd: the toolstack daemon. Serves the Toolstack API until SIGTERM or
// SIGINT; guests live in smartvm-hv and keep running when it stops.
#include <signal.h>

#include <cstdio>
#include <filesystem>

#include "smartvm/Log.h"
#include "smartvm/dom0/smartvmd/SmartvmdOptions.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"

namespace {

constexpr std::chrono::seconds kShutdownGrace{5};

smartvm::Status setUpLogging(const smartvm::dom0::SmartvmdOptions& opts) {
  if (!opts.logFile.empty()) {
    const auto dir = std::filesystem::path(opts.logFile).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return smartvm::error(ec.value(), "cannot create " + dir.string() + ": " + ec.message());
  }
  return smartvm::initLogging({"smartvmd", opts.logFile, opts.logLevel});
}

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

  if (auto s = setUpLogging(opts); !s.isOk()) return fail(s);
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
