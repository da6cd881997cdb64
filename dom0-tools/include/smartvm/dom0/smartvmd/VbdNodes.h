#pragma once
// The toolstack's half of a PV disk, as libxl does it: the frontend and
// backend directories of a vbd written to xenstore in one transaction, then a
// wait for the block backend (smartvm-blkback) to take the device (InitWait)
// or refuse it (hotplug-error). Detach asks the backend to close first.
// Each call opens its own xenstored connection, so callers on different
// threads do not share watch events.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

class VbdNodes {
 public:
  static constexpr std::chrono::seconds kBackendTimeout{10};

  explicit VbdNodes(std::string xenstoredSocket) : socket_(std::move(xenstoredSocket)) {}

  static std::string backendPath(uint32_t domid, uint32_t devid);
  static std::string frontendPath(uint32_t domid, uint32_t devid);

  /// Writes the nodes of `disk` for `domid` (state Initialising). EEXIST when
  /// the vdev is attached already.
  [[nodiscard]] Status add(uint32_t domid, const v1::DiskSpec& disk);
  /// Waits for the backend to take the device (InitWait or later). EIO with
  /// the backend's hotplug-error when it refused; ETIMEDOUT when no backend answered.
  [[nodiscard]] Status waitForBackend(uint32_t domid, uint32_t devid,
                                      std::chrono::milliseconds timeout = kBackendTimeout);
  /// Detaches: online 0 and the backend's state to Closing, waits (up to
  /// `timeout`) for it to close, then removes both directories. ENOENT when not attached.
  [[nodiscard]] Status remove(uint32_t domid, uint32_t devid, std::chrono::milliseconds timeout = kBackendTimeout);
  /// Detaches every vbd of `domid`, waiting `timeout` in all for the backend
  /// (the domain is gone: its frontends will not answer), then removes the directory.
  [[nodiscard]] Status removeAll(uint32_t domid, std::chrono::milliseconds timeout = std::chrono::seconds(2));

  struct Disk {
    v1::DiskSpec spec;
    uint32_t devid = 0;
    int backendState = 0;   ///< XenbusState
    int frontendState = 0;  ///< XenbusState, 0 when unknown
    int eventChannel = -1;  ///< the frontend's, -1 until it published one
    int ringRef = -1;
    std::string backendPath;
    std::string error;      ///< the backend's hotplug-error, if any
  };
  /// The vbds of `domid`, in device number order.
  [[nodiscard]] Result<std::vector<Disk>> list(uint32_t domid);

 private:
  std::string socket_;
};

}  // namespace smartvm::dom0
