#include "smartvm/dom0/blkback/BlkbackEngine.h"

#include <algorithm>
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

std::vector<GrantIo::Seg> BlkbackEngine::grantSegs(const Segments& s, uint8_t* buf) const {
  std::vector<GrantIo::Seg> segs;
  segs.reserve(s.segs.size());
  size_t at = 0;
  for (const auto& g : s.segs) {
    const size_t len = (g.last_sect - g.first_sect + 1) * kSector;
    segs.push_back({g.gref, static_cast<uint32_t>(g.first_sect * kSector), buf + at, len});
    at += len;
  }
  return segs;
}

Status BlkbackEngine::readWrite(const DataRequest& r) {
  const bool write = r.op != BLKIF_OP_READ;
  SMARTVM_TRY(checkRange(r.sector, r.segs.sectors, write));
  if (r.preflush) {
    ++stats_.flushes;
    SMARTVM_TRY(disk_.flush());
  }
  if (r.segs.segs.empty()) return Status::ok();
  const size_t bytes = r.segs.sectors * kSector;
  buffer_.resize(bytes);
  // The request's segments as one batch over buffer_ (one grant copy round trip).
  const std::vector<GrantIo::Seg> segs = grantSegs(r.segs, buffer_.data());
  if (write) {
    // Gather every segment before the disk sees a byte: a bad grant in the
    // last segment must not leave the first ones written.
    SMARTVM_TRY(grants_->copyFromGuestSegs(segs));
    SMARTVM_TRY(disk_.write(r.sector * kSector, buffer_.data(), bytes, r.fua));
    ++stats_.writes;
    stats_.sectorsWritten += r.segs.sectors;
    return Status::ok();
  }
  SMARTVM_TRY(disk_.read(r.sector * kSector, buffer_.data(), bytes));
  SMARTVM_TRY(grants_->copyToGuestSegs(segs));
  ++stats_.reads;
  stats_.sectorsRead += r.segs.sectors;
  return Status::ok();
}

Status BlkbackEngine::discard(const blkif_request_discard& d) {
  if (!disk_.canDiscard()) return unsupported("discard is not offered for this disk");
  if (d.flag & BLKIF_DISCARD_SECURE) return unsupported("secure discard is not offered");
  SMARTVM_TRY(checkRange(d.sector_number, d.nr_sectors, true));
  ++stats_.discards;
  return disk_.discard(d.sector_number * kSector, d.nr_sectors * kSector);
}

/// READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE and INDIRECT, checked as
/// xen-blkback checks them.
Status BlkbackEngine::parseData(const blkif_request& raw, DataRequest& out) {
  if (raw.operation == BLKIF_OP_INDIRECT) {
    const auto ind = as<blkif_request_indirect>(raw);
    SMARTVM_TRY(indirectSegments(ind, out.segs));
    out.op = ind.indirect_op;
    out.sector = ind.sector_number;
    return Status::ok();
  }
  const bool flushOrBarrier = raw.operation == BLKIF_OP_FLUSH_DISKCACHE || raw.operation == BLKIF_OP_WRITE_BARRIER;
  // A flush or barrier may carry no data; a read or write must.
  if ((raw.nr_segments == 0 && !flushOrBarrier) || raw.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
    return error(EINVAL, "request with " + std::to_string(raw.nr_segments) + " segments (1 to " +
                             std::to_string(BLKIF_MAX_SEGMENTS_PER_REQUEST) + ")");
  }
  out.segs.segs.assign(raw.seg, raw.seg + raw.nr_segments);
  SMARTVM_TRY(checkSegments(out.segs));
  // A barrier waits for everything before it (handleBatch runs it alone);
  // it adds the flush before and durability of its own data, as
  // FLUSH_DISKCACHE's preflush does.
  out.op = raw.operation == BLKIF_OP_READ ? BLKIF_OP_READ : BLKIF_OP_WRITE;
  out.sector = raw.sector_number;
  out.preflush = flushOrBarrier;
  out.fua = raw.operation == BLKIF_OP_WRITE_BARRIER;
  return Status::ok();
}

blkif_response BlkbackEngine::handle(const blkif_request& raw) {
  Status s = Status::ok();
  switch (raw.operation) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
    case BLKIF_OP_WRITE_BARRIER:
    case BLKIF_OP_FLUSH_DISKCACHE:
    case BLKIF_OP_INDIRECT: {
      DataRequest r;
      s = parseData(raw, r);
      if (s.isOk()) s = readWrite(r);
      break;
    }
    case BLKIF_OP_DISCARD:
      s = discard(as<blkif_request_discard>(raw));
      break;
    default:
      s = unsupported("unknown operation " + std::to_string(raw.operation));
  }
  return respond(raw, s);
}

blkif_response BlkbackEngine::respond(const blkif_request& raw, const Status& s) {
  blkif_response rsp{};
  rsp.id = raw.id;
  rsp.operation = raw.operation;
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

bool BlkbackEngine::overlapsInFlight(const DataRequest& r) const {
  const uint64_t end = r.sector + r.segs.sectors;
  return std::any_of(inFlight_.begin(), inFlight_.end(), [&](const Pending& p) {
    const bool oneWrites = r.op != BLKIF_OP_READ || p.req.op != BLKIF_OP_READ;
    return oneWrites && r.sector < p.req.sector + p.req.segs.sectors && p.req.sector < end;
  });
}

void BlkbackEngine::completeInFlight(std::span<const blkif_request> reqs, std::span<blkif_response> rsps) {
  if (inFlight_.empty()) return;
  std::vector<BlockDevice::Io> ios(inFlight_.size());
  for (size_t i = 0; i < inFlight_.size(); ++i) {
    const DataRequest& r = inFlight_[i].req;
    ios[i] = {r.op != BLKIF_OP_READ, r.sector * kSector, buffers_[i].data(), r.segs.sectors * kSector, false};
  }
  disk_.submit(ios);
  for (size_t i = 0; i < inFlight_.size(); ++i) {
    const Pending& p = inFlight_[i];
    Status s = std::move(ios[i].status);
    if (s.isOk() && p.req.op == BLKIF_OP_READ) s = grants_->copyToGuestSegs(p.grants);
    if (s.isOk() && p.req.op == BLKIF_OP_READ) {
      ++stats_.reads;
      stats_.sectorsRead += p.req.segs.sectors;
    } else if (s.isOk()) {
      ++stats_.writes;
      stats_.sectorsWritten += p.req.segs.sectors;
    }
    rsps[p.index] = respond(reqs[p.index], s);
  }
  inFlight_.clear();
}

void BlkbackEngine::handleBatch(std::span<const blkif_request> reqs, std::span<blkif_response> rsps) {
  inFlight_.clear();
  for (size_t i = 0; i < reqs.size(); ++i) {
    const blkif_request& raw = reqs[i];
    const bool plain = raw.operation == BLKIF_OP_READ || raw.operation == BLKIF_OP_WRITE ||
                       raw.operation == BLKIF_OP_INDIRECT;
    if (!plain) {
      completeInFlight(reqs, rsps);
      rsps[i] = handle(raw);
      continue;
    }
    DataRequest r;
    Status s = parseData(raw, r);
    if (s.isOk()) s = checkRange(r.sector, r.segs.sectors, r.op != BLKIF_OP_READ);
    if (!s.isOk()) {
      rsps[i] = respond(raw, s);
      continue;
    }
    if (overlapsInFlight(r) || inFlight_.size() >= std::max(1u, limits_.maxInFlight)) completeInFlight(reqs, rsps);
    const size_t slot = inFlight_.size();
    if (buffers_.size() <= slot) buffers_.resize(slot + 1);
    buffers_[slot].resize(r.segs.sectors * kSector);
    Pending p{i, std::move(r), {}};
    p.grants = grantSegs(p.req.segs, buffers_[slot].data());
    if (p.req.op != BLKIF_OP_READ) {
      // Gathered before the disk sees a byte, as in readWrite.
      if (Status copied = grants_->copyFromGuestSegs(p.grants); !copied.isOk()) {
        rsps[i] = respond(raw, copied);
        continue;
      }
    }
    inFlight_.push_back(std::move(p));
  }
  completeInFlight(reqs, rsps);
}

}  // namespace smartvm::dom0::blkback
