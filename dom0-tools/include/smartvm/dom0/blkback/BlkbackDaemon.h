#pragma once
// smartvm-blkback's core, the dom0 block backend as Xen's backends work: it
// watches /local/domain/0/backend/vbd for devices the toolstack writes there,
// opens each disk in qemu-storage-daemon, runs the xenbus handshake with the
// frontend and serves its ring. A device goes when its backend directory is
// removed or its `online` node turns 0. The storage daemon is supervised:
// restarted when it dies, and every disk reconnected.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "smartvm/dom0/blkback/BlkbackDevice.h"
#include "smartvm/dom0/blkback/XenstoreXenbusStore.h"
#include "smartvm/dom0/evtchn/EventChannelClient.h"
#include "smartvm/dom0/grant/GrantClient.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/qemu/StorageDaemon.h"

namespace smartvm::dom0::blkback {

class BlkbackDaemon {
 public:
  static constexpr const char* kBackendRoot = "/local/domain/0/backend/vbd";
  /// How often the storage daemon is checked on when nothing else happens.
  static constexpr std::chrono::milliseconds kSuperviseEvery{500};

  struct Options {
    std::string xenstoredSocket = "/run/smartvm/xenstored.sock";
    std::string hvSocket = "/run/smartvm/hv.sock";
    std::string runDir = "/run/smartvm/blkback";  ///< the storage daemon's sockets and log
    std::string qemuStorageDaemon = "qemu-storage-daemon";
    /// Offer feature-persistent (as Linux's xen-blkback feature_persistent);
    /// off, every data segment is copied through smartvm-hv.
    bool persistentGrants = true;
  };

  explicit BlkbackDaemon(Options o);
  ~BlkbackDaemon();
  BlkbackDaemon(const BlkbackDaemon&) = delete;
  BlkbackDaemon& operator=(const BlkbackDaemon&) = delete;

  /// Connects to xenstored and smartvm-hv, starts the storage daemon and
  /// picks up the devices already in xenstore.
  [[nodiscard]] Status start();
  /// Handles the watch events that arrive within `timeout`, then checks on the storage daemon.
  [[nodiscard]] Status runOnce(std::chrono::milliseconds timeout);
  /// Disconnects every device and stops the storage daemon.
  void stop();

  size_t deviceCount() const { return devices_.size(); }
  /// nullptr when the device is not served.
  const BlkbackDevice* device(uint32_t domid, uint32_t devid) const;
  qemu::StorageDaemon& storage() { return *storage_; }

 private:
  using Key = std::pair<uint32_t, uint32_t>;  // domid, devid

  void handleEvent(const xenstore::XsEvent& ev);
  /// Brings device `key` in line with its backend directory.
  void sync(Key key);
  /// Every device the backend directory lists.
  void scanAll();
  [[nodiscard]] Status create(Key key, const std::string& backendPath);
  void remove(Key key, const char* why);
  void refuse(Key key, const std::string& backendPath, const Status& why);
  void superviseStorage();
  static std::string exportId(Key key);

  Options opt_;
  std::optional<xenstore::XenstoreClient> xs_;
  std::optional<GrantClient> grants_;
  std::optional<EventChannelClient> events_;
  std::unique_ptr<XenstoreXenbusStore> store_;
  std::unique_ptr<qemu::StorageDaemon> storage_;
  std::map<Key, std::unique_ptr<BlkbackDevice>> devices_;
  std::set<Key> refused_;  // devices whose disk could not be opened: not retried until rewritten
  unsigned storageRestarts_ = 0;
  std::chrono::steady_clock::time_point lastSupervise_{};
};

}  // namespace smartvm::dom0::blkback
