#pragma once
// Carries out one blkif request (xen/io/blkif.h) against a BlockDevice, with
// the frontend's buffers reached through GrantIo. Every check Linux's
// xen-blkback makes is made here, and a request that fails one gets
// BLKIF_RSP_ERROR (or BLKIF_RSP_EOPNOTSUPP for an operation or flag not
// offered) with a log line; the next request is served as usual.
#include <cstddef>
#include <cstdint>
#include <cstring>  // Xen's headers use these without including them
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

  /// The grant I/O used from the next request on (chosen at connect: copies or persistent grants).
  void setGrants(GrantIo& grants) { grants_ = &grants; }

  const BlkbackStats& stats() const { return stats_; }
  const BlkbackLimits& limits() const { return limits_; }

 private:
  struct Segments {
    std::vector<blkif_request_segment> segs;
    uint64_t sectors = 0;
  };
  [[nodiscard]] Status readWrite(uint8_t op, uint64_t sector, const Segments& s, bool preflush, bool fua);
  [[nodiscard]] Status discard(const blkif_request_discard& d);
  [[nodiscard]] Status checkSegments(Segments& s) const;
  [[nodiscard]] Status indirectSegments(const blkif_request_indirect& r, Segments& out);
  [[nodiscard]] Status checkRange(uint64_t sector, uint64_t sectors, bool write) const;

  BlockDevice& disk_;
  GrantIo* grants_;
  BlkbackLimits limits_;
  BlkbackStats stats_;
  std::vector<uint8_t> buffer_;
};

}  // namespace smartvm::dom0::blkback
