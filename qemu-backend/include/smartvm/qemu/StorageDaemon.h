#pragma once
// One qemu-storage-daemon process, started and supervised by dom0: it opens
// disk images (raw, qcow2 with their backing chains) and serves each as an
// NBD export on a Unix socket. Exports are added over QMP and remembered, so
// a daemon that died is restarted with the same exports.
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/Status.h"
#include "smartvm/qemu/QmpClient.h"

namespace smartvm::qemu {

/// An image to export. `id` names the block node and the NBD export.
struct ExportSpec {
  std::string id;
  std::string path;
  std::string format = "raw";  ///< "raw" or "qcow2"
  bool readOnly = false;
};

class StorageDaemon {
 public:
  struct Options {
    std::string binary = "qemu-storage-daemon";  ///< looked up in PATH unless it has a '/'
    std::string runDir;                           ///< holds qmp.sock, nbd.sock and daemon.log
    std::chrono::milliseconds startTimeout{10000};
  };

  explicit StorageDaemon(Options o);
  ~StorageDaemon();
  StorageDaemon(const StorageDaemon&) = delete;
  StorageDaemon& operator=(const StorageDaemon&) = delete;

  /// Starts the process and connects to its QMP monitor.
  [[nodiscard]] Status start();
  /// Opens the image and exports it; remembered for restarts.
  [[nodiscard]] Status addExport(const ExportSpec& e);
  /// Stops exporting `id` and closes its image.
  [[nodiscard]] Status removeExport(const std::string& id);
  /// Whether the process is still there (reaps it if it exited).
  bool alive();
  /// Restarts a daemon that is gone, with every remembered export. A no-op while it runs.
  [[nodiscard]] Status ensureRunning();
  /// Asks the daemon to quit, then makes sure it did (SIGKILL after a grace).
  void stop();

  pid_t pid() const { return pid_; }
  std::string nbdSocket() const { return opt_.runDir + "/nbd.sock"; }
  std::string qmpSocket() const { return opt_.runDir + "/qmp.sock"; }
  std::string logPath() const { return opt_.runDir + "/daemon.log"; }
  const std::vector<ExportSpec>& exports() const { return exports_; }
  unsigned restarts() const { return restarts_; }

  /// Checks a spec before it reaches QEMU: a clear error names the problem.
  [[nodiscard]] static Status validate(const ExportSpec& e);

 private:
  [[nodiscard]] Status spawn();
  [[nodiscard]] Status exportOne(const ExportSpec& e);
  void reap(bool wait);
  std::string logTail() const;

  Options opt_;
  pid_t pid_ = -1;
  std::optional<QmpClient> qmp_;
  std::vector<ExportSpec> exports_;
  unsigned restarts_ = 0;
};

}  // namespace smartvm::qemu
