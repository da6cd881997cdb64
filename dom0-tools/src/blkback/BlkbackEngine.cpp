#include "smartvm/dom0/blkback/BlkbackEngine.h"

#include <cstring>

#include "smartvm/Log.h"

namespace smartvm::dom0::blkback {

namespace {

constexpr uint64_t kSector = 512;

/// An operation or flag the backend does not offer: BLKIF_RSP_EOPNOTSUPP.
Status unsupported(const std::string& what) { return error(EOPNOTSUPP, what); }

template <class T>
T as(const blkif_request& raw) {
  static_assert(sizeof(T) <= sizeof(blkif_request));
  T t;
  std::memcpy(&t, &raw, sizeof(T));
  return t;
}

}  // namespace

BlkbackEngine::BlkbackEngine(BlockDevice& disk, GrantIo& grants, BlkbackLimits limits)
    : disk_(disk), grants_(&grants), limits_(limits) {}

Status BlkbackEngine::checkRange(uint64_t sector, uint64_t sectors, bool write) const {
  const uint64_t total = disk_.sizeBytes() / kSector;
  if (sector > total || sectors > total - sector)
    return error(EINVAL, "sectors " + std::to_string(sector) + "+" + std::to_string(sectors) + " past the end (" +
                             std::to_string(total) + " sectors)");
  if (write && disk_.readOnly()) return error(EROFS, "write to a read-only disk");
  return Status::ok();
}

/// first_sect <= last_sect < sectors per page, as xen-blkback checks.
Status BlkbackEngine::checkSegments(Segments& s) const {
  s.sectors = 0;
  for (size_t i = 0; i < s.segs.size(); ++i) {
    const auto& g = s.segs[i];
    if (g.last_sect >= kSectorsPerPage || g.first_sect > g.last_sect)
      return error(EINVAL, "segment " + std::to_string(i) + " has sectors " + std::to_string(g.first_sect) + ".." +
                               std::to_string(g.last_sect));
    s.sectors += static_cast<uint64_t>(g.last_sect - g.first_sect + 1);
  }
  return Status::ok();
}

Status BlkbackEngine::indirectSegments(const blkif_request_indirect& r, Segments& out) {
  if (limits_.maxIndirectSegments == 0) return unsupported("indirect requests are not offered");
  if (r.indirect_op != BLKIF_OP_READ && r.indirect_op != BLKIF_OP_WRITE)
    return error(EINVAL, "indirect operation " + std::to_string(r.indirect_op) + " is neither read nor write");
  if (r.nr_segments == 0 || r.nr_segments > limits_.maxIndirectSegments)
    return error(EINVAL, "indirect request with " + std::to_string(r.nr_segments) + " segments (1 to " +
                             std::to_string(limits_.maxIndirectSegments) + ")");
  const unsigned pages = (r.nr_segments + kSegmentsPerIndirectPage - 1) / kSegmentsPerIndirectPage;
  if (pages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST) return error(EINVAL, "too many indirect pages");
  out.segs.resize(r.nr_segments);
  for (unsigned p = 0; p < pages; ++p) {
    const unsigned first = p * kSegmentsPerIndirectPage;
    const unsigned n = std::min<unsigned>(kSegmentsPerIndirectPage, r.nr_segments - first);
    if (Status s = grants_->copyFromGuest(r.indirect_grefs[p], 0, &out.segs[first], n * sizeof(blkif_request_segment));
        !s.isOk())
      return error(s.code(), "indirect page " + std::to_string(p) + ": " + s.message());
  }
  return checkSegments(out);
}

Status BlkbackEngine::readWrite(uint8_t op, uint64_t sector, const Segments& s, bool preflush, bool fua) {
  const bool write = op != BLKIF_OP_READ;
  SMARTVM_TRY(checkRange(sector, s.sectors, write));
  if (preflush) {
    ++stats_.flushes;
    SMARTVM_TRY(disk_.flush());
  }
  if (s.segs.empty()) return Status::ok();
  const size_t bytes = s.sectors * kSector;
  buffer_.resize(bytes);
  // The request's segments as one batch over buffer_ (one grant copy round trip).
  std::vector<GrantIo::Seg> segs;
  segs.reserve(s.segs.size());
  size_t at = 0;
  for (const auto& g : s.segs) {
    const size_t len = (g.last_sect - g.first_sect + 1) * kSector;
    segs.push_back({g.gref, static_cast<uint32_t>(g.first_sect * kSector), buffer_.data() + at, len});
    at += len;
  }
  if (write) {
    // Gather every segment before the disk sees a byte: a bad grant in the
    // last segment must not leave the first ones written.
    SMARTVM_TRY(grants_->copyFromGuestSegs(segs));
    SMARTVM_TRY(disk_.write(sector * kSector, buffer_.data(), bytes, fua));
    ++stats_.writes;
    stats_.sectorsWritten += s.sectors;
    return Status::ok();
  }
  SMARTVM_TRY(disk_.read(sector * kSector, buffer_.data(), bytes));
  SMARTVM_TRY(grants_->copyToGuestSegs(segs));
  ++stats_.reads;
  stats_.sectorsRead += s.sectors;
  return Status::ok();
}

Status BlkbackEngine::discard(const blkif_request_discard& d) {
  if (!disk_.canDiscard()) return unsupported("discard is not offered for this disk");
  if (d.flag & BLKIF_DISCARD_SECURE) return unsupported("secure discard is not offered");
  SMARTVM_TRY(checkRange(d.sector_number, d.nr_sectors, true));
  ++stats_.discards;
  return disk_.discard(d.sector_number * kSector, d.nr_sectors * kSector);
}

blkif_response BlkbackEngine::handle(const blkif_request& raw) {
  blkif_response rsp{};
  rsp.id = raw.id;
  rsp.operation = raw.operation;
  Status s = Status::ok();
  switch (raw.operation) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
    case BLKIF_OP_WRITE_BARRIER:
    case BLKIF_OP_FLUSH_DISKCACHE: {
      const bool flushOrBarrier = raw.operation == BLKIF_OP_FLUSH_DISKCACHE || raw.operation == BLKIF_OP_WRITE_BARRIER;
      // A flush or barrier may carry no data; a read or write must.
      if ((raw.nr_segments == 0 && !flushOrBarrier) || raw.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        s = error(EINVAL, "request with " + std::to_string(raw.nr_segments) + " segments (1 to " +
                              std::to_string(BLKIF_MAX_SEGMENTS_PER_REQUEST) + ")");
        break;
      }
      Segments segs;
      segs.segs.assign(raw.seg, raw.seg + raw.nr_segments);
      s = checkSegments(segs);
      if (!s.isOk()) break;
      // Requests are served in ring order, one at a time, so a barrier's
      // "everything before is done" holds already; it adds the flush before
      // and durability of its own data, as FLUSH_DISKCACHE's preflush does.
      const uint8_t op = raw.operation == BLKIF_OP_READ ? BLKIF_OP_READ : BLKIF_OP_WRITE;
      s = readWrite(op, raw.sector_number, segs, flushOrBarrier, raw.operation == BLKIF_OP_WRITE_BARRIER);
      break;
    }
    case BLKIF_OP_DISCARD:
      s = discard(as<blkif_request_discard>(raw));
      break;
    case BLKIF_OP_INDIRECT: {
      const auto ind = as<blkif_request_indirect>(raw);
      Segments segs;
      s = indirectSegments(ind, segs);
      if (s.isOk()) s = readWrite(ind.indirect_op, ind.sector_number, segs, false, false);
      break;
    }
    default:
      s = unsupported("unknown operation " + std::to_string(raw.operation));
  }
  if (s.isOk()) {
    rsp.status = BLKIF_RSP_OKAY;
    return rsp;
  }
  const bool notOffered = s.code() == EOPNOTSUPP;
  rsp.status = notOffered ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR;
  ++(notOffered ? stats_.unsupported : stats_.errors);
  // A hostile frontend can fail every request: the log keeps the first ones.
  const uint64_t n = stats_.unsupported + stats_.errors;
  if (n <= 32 || n % 4096 == 0)
    spdlog::warn("blkback: request id {} op {}: {} -> {}", raw.id, raw.operation, s.toString(),
                 notOffered ? "EOPNOTSUPP" : "ERROR");
  return rsp;
}

}  // namespace smartvm::dom0::blkback
