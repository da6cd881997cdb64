#pragma once
// One virtual block device served by smartvm-blkback: the xenbus handshake
// with its frontend, the disk (an NBD export of qemu-storage-daemon), and,
// while connected, the frontend's ring mapped through its grant and a thread
// that serves the ring whenever the frontend's event channel fires.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "smartvm/dom0/blkback/BlkbackEngine.h"
#include "smartvm/dom0/blkback/BlkbackRing.h"
#include "smartvm/dom0/blkback/BlkbackXenbus.h"
#include "smartvm/dom0/blkback/GrantCopyIo.h"
#include "smartvm/dom0/blkback/NbdBlockDevice.h"
#include "smartvm/dom0/blkback/PersistentGrantIo.h"
#include "smartvm/dom0/evtchn/EventChannelClient.h"
#include "smartvm/dom0/grant/GrantClient.h"

namespace smartvm::dom0::blkback {

class BlkbackDevice final : public BlkbackConnector {
 public:
  struct Identity {
    uint32_t domid = 0;     ///< the frontend's domain
    uint32_t devid = 0;     ///< xenstore device number (51712 = xvda)
    std::string backendPath;
    std::string frontendPath;
  };
  /// The hypervisor-facing clients every device shares (both are thread-safe).
  struct Hv {
    GrantClient* grants = nullptr;
    EventChannelClient* events = nullptr;
  };

  /// `disk` is already open; the device publishes its features on probe().
  BlkbackDevice(Identity id, std::unique_ptr<NbdBlockDevice> disk, XenbusStore& store, Hv hv,
                BlkbackXenbus::Config xenbus);
  ~BlkbackDevice() override;
  BlkbackDevice(const BlkbackDevice&) = delete;
  BlkbackDevice& operator=(const BlkbackDevice&) = delete;

  [[nodiscard]] Status probe() { return xenbus_.probe(); }
  /// The frontend's state node changed.
  void frontendChanged() { xenbus_.frontendChanged(); }
  /// The storage daemon was restarted: the I/O thread reconnects the disk before its next request.
  void storageRestarted() { storageGeneration_.fetch_add(1); }

  const Identity& identity() const { return id_; }
  XenbusState state() const { return xenbus_.state(); }
  bool serving() const { return thread_.joinable(); }
  /// Requests served since the device was created (all connections).
  uint64_t requestsServed() const { return served_.load(); }
  /// True once the frontend broke its ring; it is no longer served until it reconnects.
  bool ringBroken() const { return ringBroken_.load(); }
  /// True when the current (or last) connection used persistent grants (both ends offered feature-persistent).
  bool persistentGrants() const { return persistentOn_.load(); }
  /// Grants mapped persistently over the current (or last) connection (0 on the copy path).
  uint64_t persistentMaps() const { return persistentMaps_.load(); }
  /// Persistent mappings held now (0 once disconnected: all unmapped).
  uint64_t persistentLive() const { return persistentLive_.load(); }

  // BlkbackConnector
  [[nodiscard]] Status connectRing(const RingParams& p) override;
  void disconnect() override;

 private:
  void serveLoop();
  void reconnectDiskIfNeeded();

  Identity id_;
  std::unique_ptr<NbdBlockDevice> disk_;
  Hv hv_;
  GrantCopyIo grantIo_;
  GrantClientMapper mapper_;
  /// While connected with feature-persistent; the engine uses it instead of grantIo_.
  std::unique_ptr<PersistentGrantIo> persistent_;
  BlkbackEngine engine_;
  BlkbackXenbus xenbus_;

  std::optional<GrantClient::Mapping> ringPage_;
  std::optional<EventChannelClient::Port> port_;
  std::unique_ptr<BlkbackRing> ring_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> served_{0};
  std::atomic<bool> ringBroken_{false};
  std::atomic<bool> persistentOn_{false};
  std::atomic<uint64_t> persistentMaps_{0};
  std::atomic<uint64_t> persistentLive_{0};
  std::atomic<uint64_t> storageGeneration_{0};
  uint64_t diskGeneration_ = 0;  // the I/O thread's
};

}  // namespace smartvm::dom0::blkback
