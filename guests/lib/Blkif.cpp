#include "lib/Blkif.h"

namespace blkif {

bool buildReadWrite(blkif_request& req, uint8_t op, uint64_t id, blkif_sector_t sector, uint32_t sectors,
                    const grant_ref_t* refs, uint32_t nrefs) {
  if (op != BLKIF_OP_READ && op != BLKIF_OP_WRITE) return false;
  if (sectors == 0 || sectors > kMaxSectors || pagesFor(sectors) > nrefs) return false;
  const uint32_t pages = pagesFor(sectors);
  blkif_request r{};
  r.operation = op;
  r.nr_segments = static_cast<uint8_t>(pages);
  r.handle = 0;  // the backend ignores it for a single-disk device
  r.id = id;
  r.sector_number = sector;
  uint32_t left = sectors;
  for (uint32_t i = 0; i < pages; ++i) {
    const uint32_t n = left < kSectorsPerPage ? left : kSectorsPerPage;
    r.seg[i].gref = refs[i];
    r.seg[i].first_sect = 0;
    r.seg[i].last_sect = static_cast<uint8_t>(n - 1);
    left -= n;
  }
  req = r;
  return true;
}

bool buildFlush(blkif_request& req, uint8_t op, uint64_t id) {
  if (op != BLKIF_OP_FLUSH_DISKCACHE && op != BLKIF_OP_WRITE_BARRIER) return false;
  blkif_request r{};
  r.operation = op;
  r.nr_segments = 0;
  r.id = id;
  req = r;
  return true;
}

uint32_t sectorsOf(const blkif_request& req) {
  if (req.operation != BLKIF_OP_READ && req.operation != BLKIF_OP_WRITE) return 0;
  if (req.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return 0;
  uint32_t n = 0;
  for (uint32_t i = 0; i < req.nr_segments; ++i) {
    const auto& s = req.seg[i];
    if (s.last_sect < s.first_sect || s.last_sect >= kSectorsPerPage) return 0;
    n += s.last_sect - s.first_sect + 1u;
  }
  return n;
}

const char* statusName(int16_t status) {
  switch (status) {
    case BLKIF_RSP_OKAY: return "okay";
    case BLKIF_RSP_ERROR: return "error";
    case BLKIF_RSP_EOPNOTSUPP: return "eopnotsupp";
    default: return "unknown";
  }
}

const char* opName(uint8_t op) {
  switch (op) {
    case BLKIF_OP_READ: return "read";
    case BLKIF_OP_WRITE: return "write";
    case BLKIF_OP_FLUSH_DISKCACHE: return "flush";
    case BLKIF_OP_WRITE_BARRIER: return "barrier";
    default: return "op?";
  }
}

}  // namespace blkif
