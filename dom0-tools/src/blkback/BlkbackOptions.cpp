#include "smartvm/dom0/blkback/BlkbackOptions.h"

#include <CLI/CLI.hpp>

#include "smartvm/dom0/DaemonArgs.h"

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
  bool noPersistent = false;
  app.add_flag("--no-persistent-grants", noPersistent,
               "do not offer feature-persistent: copy every data segment through smartvm-hv instead of mapping "
               "the frontend's grants once");
  addLogOptions(app, opts.logFile, opts.logLevel);
  BlkbackArgs result;
  if (!parseDaemonArgs(app, argc, argv, result)) return result;
  opts.daemon.persistentGrants = !noPersistent;
  result.options = std::move(opts);
  return result;
}

}  // namespace smartvm::dom0::blkback
