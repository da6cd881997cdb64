// smartvm-blkback: dom0's block backend daemon. Serves until SIGTERM or SIGINT.
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "smartvm/Log.h"
#include "smartvm/dom0/blkback/BlkbackOptions.h"

namespace {

std::atomic<bool> gStop{false};

void onStop(int) { gStop = true; }

int fail(const smartvm::Status& s) {
  std::fprintf(stderr, "smartvm-blkback: %s\n", s.toString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace smartvm::dom0::blkback;
  const auto args = parseBlkbackArgs(argc, argv);
  std::fputs(args.out.c_str(), stdout);
  std::fputs(args.err.c_str(), stderr);
  if (!args.options) return args.exitCode;
  const auto& opts = *args.options;
  if (auto s = smartvm::initLogging({"blkback", opts.logFile, opts.logLevel}); !s.isOk()) return fail(s);

  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a storage daemon or guest that went away is an error, not a kill

  BlkbackDaemon daemon(opts.daemon);
  if (auto s = daemon.start(); !s.isOk()) return fail(s);
  spdlog::info("smartvm-blkback serving {} (storage daemon pid {})", BlkbackDaemon::kBackendRoot,
               daemon.storage().pid());
  while (!gStop.load()) {
    if (auto s = daemon.runOnce(std::chrono::milliseconds(250)); !s.isOk()) {
      daemon.stop();
      return fail(s);
    }
  }
  daemon.stop();
  spdlog::info("smartvm-blkback stopped");
  return 0;
}
