#pragma once
// Carries out one blkif request (xen/io/blkif.h) against a BlockDevice, with
// the frontend's buffers reached through GrantIo. Every check Linux's
// xen-blkback makes is made here, and a request that fails one gets
// BLKIF_RSP_ERROR (or BLKIF_RSP_EOPNOTSUPP for an operation or flag not
// offered) with a log line; the next request is served as usual.
#include <cstddef>
#include <cstdint>
#include <cstring>  // Xen's headers use these without including them
#include <span>
#include <vector>

#include <xen/io/blkif.h>

#include "smartvm/Status.h"
#include "smartvm/dom0/blkback/BlockDevice.h"
#include "smartvm/dom0/blkback/GrantIo.h"

namespace smartvm::dom0::blkback {

/// 512-byte sectors in one 4 KiB page: a segment's first/last_sect range.
constexpr unsigned kSectorsPerPage = 4096 / 512;
/// Segment descriptors in one indirect page.
constexpr unsigned kSegmentsPerIndirectPage = 4096 / sizeof(blkif_request_segment);

struct BlkbackLimits {
  /// feature-max-indirect-segments advertised to the frontend (0: no indirect).
  unsigned maxIndirectSegments = 256;
  /// Reads and writes handleBatch keeps in flight towards the disk at once.
  unsigned maxInFlight = 16;
};

/// What the engine has done, for `block-list` and tests.
struct BlkbackStats {
  uint64_t reads = 0, writes = 0, flushes = 0, discards = 0, errors = 0, unsupported = 0;
  uint64_t sectorsRead = 0, sectorsWritten = 0;
};

class BlkbackEngine {
 public:
  BlkbackEngine(BlockDevice& disk, GrantIo& grants, BlkbackLimits limits = {});

  /// `raw` is the request as copied off the ring (any of the union's layouts).
  blkif_response handle(const blkif_request& raw);
  /// The requests of one ring round, `rsps[i]` answering `reqs[i]`. Reads and
  /// writes go to the disk together (up to maxInFlight at once), as
  /// xen-blkback submits a round's bios; a flush, barrier, discard or any
  /// other operation waits for everything before it and runs alone, and a
  /// request overlapping one in flight (a write, or a read of a written
  /// range) waits for it, so the guest sees ring order wherever it can tell.
  void handleBatch(std::span<const blkif_request> reqs, std::span<blkif_response> rsps);

  /// The grant I/O used from the next request on (chosen at connect: copies or persistent grants).
  void setGrants(GrantIo& grants) { grants_ = &grants; }

  const BlkbackStats& stats() const { return stats_; }
  const BlkbackLimits& limits() const { return limits_; }

 private:
  struct Segments {
    std::vector<blkif_request_segment> segs;
    uint64_t sectors = 0;
  };
  /// A read or write taken apart: the operation, where, and its segments.
  struct DataRequest {
    uint8_t op = BLKIF_OP_READ;  ///< BLKIF_OP_READ or BLKIF_OP_WRITE
    uint64_t sector = 0;
    Segments segs;
    bool preflush = false, fua = false;
  };
  /// One read or write of handleBatch waiting for the disk.
  struct Pending {
    size_t index = 0;  ///< in reqs/rsps
    DataRequest req;
    std::vector<GrantIo::Seg> grants;
  };
  [[nodiscard]] Status parseData(const blkif_request& raw, DataRequest& out);
  [[nodiscard]] Status readWrite(const DataRequest& r);
  std::vector<GrantIo::Seg> grantSegs(const Segments& s, uint8_t* buf) const;
  blkif_response respond(const blkif_request& raw, const Status& s);
  bool overlapsInFlight(const DataRequest& r) const;
  void completeInFlight(std::span<const blkif_request> reqs, std::span<blkif_response> rsps);
  [[nodiscard]] Status discard(const blkif_request_discard& d);
  [[nodiscard]] Status checkSegments(Segments& s) const;
  [[nodiscard]] Status indirectSegments(const blkif_request_indirect& r, Segments& out);
  [[nodiscard]] Status checkRange(uint64_t sector, uint64_t sectors, bool write) const;

  BlockDevice& disk_;
  GrantIo* grants_;
  BlkbackLimits limits_;
  BlkbackStats stats_;
  std::vector<uint8_t> buffer_;
  std::vector<Pending> inFlight_;
  std::vector<std::vector<uint8_t>> buffers_;  ///< inFlight_[i]'s data, kept between rounds
};

}  // namespace smartvm::dom0::blkback
