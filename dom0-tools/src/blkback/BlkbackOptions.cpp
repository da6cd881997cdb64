#include "smartvm/dom0/blkback/BlkbackOptions.h"

#include <CLI/CLI.hpp>
#include <sstream>

namespace smartvm::dom0::blkback {

BlkbackArgs parseBlkbackArgs(int argc, const char* const* argv) {
  BlkbackOptions opts;
  CLI::App app{
      "smartvm-blkback: dom0's block backend. Serves the PV disks (xen/io/blkif.h) the toolstack writes under "
      "/local/domain/0/backend/vbd, with qemu-storage-daemon doing the storage work.",
      "smartvm-blkback"};
  app.add_option("--xenstored-socket", opts.daemon.xenstoredSocket, "smartvm-xenstored's socket")->capture_default_str();
  app.add_option("--hv-socket", opts.daemon.hvSocket, "smartvm-hv's control socket (grants, event channels)")
      ->capture_default_str();
  app.add_option("--run-dir", opts.daemon.runDir, "directory for the storage daemon's sockets and log")
      ->capture_default_str();
  app.add_option("--qemu-storage-daemon", opts.daemon.qemuStorageDaemon, "the qemu-storage-daemon binary")
      ->capture_default_str();
  app.add_option("--log-file", opts.logFile, "log file (its directory is created); empty for stderr only")
      ->capture_default_str();
  app.add_option("--log-level", opts.logLevel, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  BlkbackArgs result;
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

}  // namespace smartvm::dom0::blkback
