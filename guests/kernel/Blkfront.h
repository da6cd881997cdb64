// A blkif frontend (xen/io/blkif.h) after Linux's xen-blkfront: finds
// device/vbd/<id> in xenstore, runs the xenbus handshake with the backend
// (wait for InitWait; grant a ring page, allocate an event channel for the
// backend domain, publish ring-ref, event-channel and protocol in a
// transaction, switch to Initialised; wait for Connected and read the
// disk's size and features), then moves data in requests of up to
// BLKIF_MAX_SEGMENTS_PER_REQUEST granted pages, several in flight.
// configure() may ask for larger requests (BLKIF_OP_INDIRECT, when the
// backend offers feature-max-indirect-segments) and for persistent grants
// (each slot's pages granted once at connect and reused, as xen-blkfront does
// with feature-persistent), which a benchmark wants: this guest's CPL0 code
// is emulated, so granting 256 pages per request would dominate the run.
//
// Everything the backend writes is checked: xenstore values are parsed
// strictly, a response with an id that is not in flight or a producer index
// more than a ring ahead breaks the device (-XEN_EIO), and every wait has a
// deadline (-XEN_ETIMEDOUT). Grants end after each response; one the
// backend still maps is not reused. One caller (vCPU 0); the event channel
// stays masked and is waited on with SCHEDOP_poll.
#pragma once
#include <stdint.h>
#include <xen/xen.h>

#include "lib/Blkif.h"
#include "lib/Format.h"

class Blkfront {
 public:
  /// Requests in flight at most (the one-page ring holds 32).
  static constexpr uint32_t kSlots = 8;
  /// Segments (4 KiB pages) one request carries at most: 1 MiB, which one
  /// indirect page describes (it holds 512 segments).
  static constexpr uint32_t kMaxSegments = 256;

  struct Options {
    /// Segments per request wanted; above BLKIF_MAX_SEGMENTS_PER_REQUEST
    /// only when the backend offers that many indirect segments.
    uint32_t maxSegments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
    /// Grant each slot's pages once (read-write) instead of per request.
    bool persistentGrants = false;
  };

  struct Info {
    uint32_t vbd = 0;          // the device id (device/vbd/<id>)
    domid_t backendId = 0;
    char backend[128] = {};    // the backend's xenstore directory
    uint64_t sectors = 0;      // disk size in 512-byte sectors
    uint32_t sectorSize = 0;   // logical sector size (bytes)
    uint32_t info = 0;         // VDISK_* bits
    bool flushCache = false;   // feature-flush-cache
    bool barrier = false;      // feature-barrier
    uint32_t maxIndirect = 0;  // feature-max-indirect-segments (0: none)
    uint32_t segments = 0;     // segments per request in use (pages per slot)
    uint32_t ringRef = 0;
    uint32_t port = 0;
  };

  /// Runs the handshake for device vbd ("" = the first under device/vbd)
  /// until the backend is Connected, each wait at most timeoutNs. Needs
  /// events, Xen time, xenbus and the grant table. 0, or an error with why.
  long connect(Str vbd, uint64_t timeoutNs, Line& why);

  /// Before connect(): request size and grant policy (defaults: direct
  /// requests of up to 11 pages, grants per request).
  void configure(const Options& options) { options_ = options; }

  /// 512-byte sectors one request may move (after connect()).
  uint32_t maxSectors() const { return info_.segments * blkif::kSectorsPerPage; }

  /// Tells the backend we are going (Closing, then Closed once it follows,
  /// bounded) and revokes the ring's grant.
  void close();

  const Info& info() const { return info_; }

  /// A free slot whose data buffer (data()) the caller may fill; -XEN_EBUSY
  /// when all are taken or in flight.
  long acquire(uint32_t& slot);
  /// The slot's buffer: info().segments pages.
  uint8_t* data(uint32_t slot) const;

  /// Queues BLKIF_OP_READ/WRITE of sectors (1..maxSectors()) at
  /// sector with the slot's buffer, or a flush (FLUSH_DISKCACHE or
  /// WRITE_BARRIER, sectors 0), and notifies the backend if it asks for it.
  long submit(uint32_t slot, uint8_t op, uint64_t sector, uint32_t sectors);

  /// Waits until some request completed (or Xen time deadlineNs): its slot
  /// and BLKIF_RSP_* status. The slot stays the caller's until release().
  long waitAny(uint32_t& slot, int16_t& status, uint64_t deadlineNs);

  /// What the completed request in slot was (for messages).
  uint8_t op(uint32_t slot) const { return slots_[slot].op; }
  uint64_t sector(uint32_t slot) const { return slots_[slot].sector; }
  uint32_t sectors(uint32_t slot) const { return slots_[slot].sectors; }

  void release(uint32_t slot);
  /// Requests submitted whose response the backend has not given yet.
  uint32_t inFlight() const;
  /// Requests submitted and not yet taken by waitAny() (in flight or answered).
  uint32_t outstanding() const;

  uint64_t requests() const { return requests_; }
  /// Grants the backend still had mapped after its response.
  uint64_t leakedGrants() const { return leakedGrants_; }

 private:
  enum class SlotState : uint8_t { Free, Acquired, InFlight, Done };
  struct Slot {
    SlotState state;
    uint8_t op;
    uint8_t wireOp;          // what the ring carries: op or BLKIF_OP_INDIRECT
    int16_t status;
    uint32_t sectors;
    uint64_t sector;
    uint32_t nrefs;          // data grants held (per request, or persistent)
    grant_ref_t refs[kMaxSegments];
    bool hasIndirectRef;     // indirectRef is a live grant
    grant_ref_t indirectRef;
    uint32_t patchedSeg;     // persistent: the indirect segment whose last_sect was shortened
  };

  long handshake(uint64_t timeoutNs, Line& why);
  long waitBackend(bool (*done)(uint64_t), uint64_t deadlineNs, uint64_t& state);
  long readBackendState(uint64_t& state);
  long writeFrontState(uint32_t state);
  long publishRing(Line& why);
  long readDisk(Line& why);
  /// Allocates the slots' buffers (and indirect pages) for info_.segments
  /// and, with persistent grants, grants them.
  long setupSlots(Line& why);
  long fillIndirect(Slot& s, uint32_t slot, uint32_t sectors);
  blkif_request_segment* indirectPage(uint32_t slot) const;
  /// Takes the responses the backend produced; -XEN_EIO when it broke the ring.
  long reap();
  void endGrants(Slot& s);

  Info info_;
  char frontPath_[64] = {};
  size_t frontPathLen_ = 0;
  blkif_sring* sring_ = nullptr;
  blkif_front_ring front_{};
  uint8_t* buffers_ = nullptr;
  uint8_t* indirect_ = nullptr;  // one page per slot when info_.segments > 11
  Options options_;
  Slot slots_[kSlots] = {};
  bool broken_ = false;
  bool connected_ = false;
  uint64_t requests_ = 0;
  uint64_t leakedGrants_ = 0;
};
