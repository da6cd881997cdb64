#pragma once
// The backend half of blkif's xenbus handshake, as Linux's xen-blkback does
// it: advertise features and wait (InitWait), read the frontend's ring refs,
// event channel and protocol once it is Initialised, connect and publish the
// disk's size (Connected), and follow the frontend through Closing/Closed and
// a reconnect. Everything read from the frontend's directory is guest input:
// a malformed value is a fatal device error (an `error` node and Closing),
// as xenbus_dev_fatal makes it, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstring>  // Xen's headers use these without including them
#include <string>
#include <vector>

#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/io/xenbus.h>

#include "smartvm/Result.h"
#include "smartvm/Status.h"

namespace smartvm::dom0::blkback {

/// The few xenstore calls the handshake needs (the xenstore client in dom0, a map in tests).
class XenbusStore {
 public:
  virtual ~XenbusStore() = default;
  /// ENOENT when the node does not exist.
  [[nodiscard]] virtual Result<std::string> read(const std::string& path) = 0;
  [[nodiscard]] virtual Status write(const std::string& path, const std::string& value) = 0;
};

/// What the frontend published for its ring.
struct RingParams {
  std::vector<grant_ref_t> ringRefs;  ///< one per ring page
  unsigned pageOrder = 0;
  evtchn_port_t eventChannel = 0;
  /// Both ends offered feature-persistent: data grants may be mapped once and kept.
  bool persistent = false;
};

/// The data path the handshake switches on and off.
class BlkbackConnector {
 public:
  virtual ~BlkbackConnector() = default;
  /// Maps the ring and binds the event channel; a failure is reported to the frontend.
  [[nodiscard]] virtual Status connectRing(const RingParams& p) = 0;
  /// Idempotent: stops serving, unmaps, unbinds.
  virtual void disconnect() = 0;
};

class BlkbackXenbus {
 public:
  struct Config {
    std::string backendPath;   ///< /local/domain/0/backend/vbd/<domid>/<devid>
    std::string frontendPath;  ///< /local/domain/<domid>/device/vbd/<devid>
    uint64_t sectors = 0;      ///< 512-byte sectors
    bool readOnly = false;
    bool discard = false;
    unsigned maxIndirectSegments = 256;
    unsigned maxRingPageOrder = 0;
    /// Offer feature-persistent (persistent grants, as Linux's xen-blkback does).
    bool persistentGrants = true;
  };

  BlkbackXenbus(XenbusStore& store, BlkbackConnector& connector, Config c);

  /// Publishes the features and moves to InitWait.
  [[nodiscard]] Status probe();
  /// Reacts to the frontend's `state` node (call on its watch).
  void frontendChanged();

  XenbusState state() const { return state_; }
  bool connected() const { return state_ == XenbusStateConnected; }
  /// The last fatal error given to the frontend, "" if none.
  const std::string& lastError() const { return lastError_; }
  /// Where xenbus_dev_fatal-style errors go: /local/domain/0/error/backend/.../error.
  std::string errorPath() const;

 private:
  [[nodiscard]] Status switchState(XenbusState s);
  [[nodiscard]] Result<RingParams> readRing();
  [[nodiscard]] Status connect();
  void fatal(const Status& why);
  [[nodiscard]] Result<uint64_t> readNumber(const std::string& key, uint64_t max, bool required,
                                            uint64_t fallback = 0);

  XenbusStore& store_;
  BlkbackConnector& connector_;
  Config cfg_;
  XenbusState state_ = XenbusStateInitialising;
  std::string lastError_;
};

}  // namespace smartvm::dom0::blkback
