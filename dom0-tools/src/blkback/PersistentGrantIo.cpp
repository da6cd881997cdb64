#include "smartvm/dom0/blkback/PersistentGrantIo.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace smartvm::dom0::blkback {

uint8_t* PersistentGrantIo::page(grant_ref_t ref) {
  if (auto it = cache_.find(ref); it != cache_.end()) return static_cast<uint8_t*>(it->second.page);
  if (cache_.size() >= max_) return nullptr;  // full: the copy path serves it
  // Writable, as Linux maps persistent grants: the page serves reads and writes.
  auto m = mapper_.map(ref, /*readonly=*/false);
  if (!m.isOk() || m->page == nullptr) {
    // Not cached: a bad or read-only ref is retried (and judged) on the copy path.
    ++stats_.mapFailures;
    if (stats_.mapFailures <= 16)
      spdlog::debug("blkback: persistent map of grant ref {}: {}", ref,
                    m.isOk() ? std::string("no page") : m.status().toString());
    return nullptr;
  }
  ++stats_.maps;
  cache_.emplace(ref, *m);
  return static_cast<uint8_t*>(m->page);
}

Status PersistentGrantIo::run(std::span<const Seg> segs, bool toGuest) {
  rest_.clear();
  for (const Seg& s : segs) {
    // The bounds the hypervisor checks on a copy, checked before touching the page.
    if (s.offset > GrantClient::kPageSize || s.len > GrantClient::kPageSize - s.offset)
      return error(EINVAL, fmt::format("grant ref {}: {} bytes at offset {} do not fit one page", s.ref, s.len,
                                       s.offset));
    uint8_t* p = page(s.ref);
    if (p == nullptr) {
      rest_.push_back(s);
      continue;
    }
    ++stats_.hits;
    if (toGuest)
      std::memcpy(p + s.offset, s.buf, s.len);
    else
      std::memcpy(s.buf, p + s.offset, s.len);
  }
  if (rest_.empty()) return Status::ok();
  stats_.copied += rest_.size();
  return toGuest ? fallback_.copyToGuestSegs(rest_) : fallback_.copyFromGuestSegs(rest_);
}

Status PersistentGrantIo::copyFromGuest(grant_ref_t ref, uint32_t offset, void* dst, size_t len) {
  const Seg seg{ref, offset, dst, len};
  return run({&seg, 1}, false);
}

Status PersistentGrantIo::copyToGuest(grant_ref_t ref, uint32_t offset, const void* src, size_t len) {
  const Seg seg{ref, offset, const_cast<void*>(src), len};  // only read on this path
  return run({&seg, 1}, true);
}

Status PersistentGrantIo::copyFromGuestSegs(std::span<const Seg> segs) { return run(segs, false); }

Status PersistentGrantIo::copyToGuestSegs(std::span<const Seg> segs) { return run(segs, true); }

void PersistentGrantIo::unmapAll() {
  size_t failed = 0;
  Status last = Status::ok();
  for (auto& [ref, m] : cache_) {
    if (Status s = mapper_.unmap(m); !s.isOk()) {
      ++failed;
      last = s;
    }
  }
  if (failed > 0)
    spdlog::warn("blkback: {} of {} persistent grants failed to unmap (last: {})", failed, cache_.size(),
                 last.message());
  cache_.clear();
}

}  // namespace smartvm::dom0::blkback
