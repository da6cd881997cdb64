// smartvm-xenstored: dom0's xenstore daemon. Serves its Unix socket until
// SIGTERM or SIGINT.
#include <signal.h>
#include <sys/signalfd.h>

#include <cstdio>

#include "smartvm/Log.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/dom0/xenstore/XenstoredOptions.h"
#include "smartvm/dom0/xenstore/XsDomainAttacher.h"
#include "smartvm/dom0/xenstore/XsHvGuestAccess.h"
#include "smartvm/dom0/xenstore/XsSocketServer.h"

namespace {

int fail(const smartvm::Status& s) {
  std::fprintf(stderr, "smartvm-xenstored: %s\n", s.toString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace smartvm::dom0::xenstore;
  const auto args = parseXenstoredArgs(argc, argv);
  std::fputs(args.out.c_str(), stdout);
  std::fputs(args.err.c_str(), stderr);
  if (!args.options) return args.exitCode;
  const auto& opts = *args.options;
  if (auto s = smartvm::initLogging({"xenstored", opts.logFile, opts.logLevel}); !s.isOk()) return fail(s);

  // The stop signals arrive on a descriptor the poll loop watches, so stopping needs no async-signal tricks.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  sigprocmask(SIG_BLOCK, &stopSignals, nullptr);
  smartvm::UniqueFd stopFd(::signalfd(-1, &stopSignals, SFD_CLOEXEC));
  if (!stopFd.valid()) return fail(smartvm::errnoStatus("signalfd"));

  XsServerCore core;
  XsSocketServer server(core);
  if (auto s = server.listen(opts.socket); !s.isOk()) return fail(s);
  // Guests are served through smartvm-hv; dom0 clients are served even while it is down.
  XsHvGuestAccess hv(opts.hvSocket);
  XsDomainAttacher attacher(core, server, hv);
  if (attacher.bindDomExc().isOk()) {
    spdlog::info("smartvm-hv at {}: guests are attached on INTRODUCE", opts.hvSocket);
  } else {
    spdlog::warn("smartvm-hv is not reachable at {}: INTRODUCE fails until it is (--hv-socket)", opts.hvSocket);
  }
  if (auto s = server.run(stopFd.get()); !s.isOk()) return fail(s);
  spdlog::info("smartvm-xenstored stopped");
  return 0;
}
