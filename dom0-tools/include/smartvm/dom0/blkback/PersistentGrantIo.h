#pragma once
// GrantIo for a frontend that negotiated feature-persistent (as Linux's
// xen-blkback): each grant ref the frontend uses for data or an indirect page
// is mapped into this process once (GNTTABOP_map_grant_ref through
// GrantClient::map: an mmap of the granter's page) and kept in a per-device
// cache keyed by ref; later requests on the same ref are a memcpy on the
// mapped page, no control-socket round trip. The cache is bounded (Linux's
// max_pgrants, 1056 per ring): once it is full, refs not in it go through the
// copy path (`fallback`, GrantCopyIo), as xen-blkback falls back to
// non-persistent mappings. A ref whose map fails is not cached; its segment
// goes through the copy path too, where smartvm-hv's checks decide (a bad ref
// fails the request). Mappings are writable, as Linux maps persistent grants:
// the same page serves reads and writes. Used by one ring thread at a time;
// unmapAll() (also on destruction) drops every mapping.
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/dom0/blkback/GrantIo.h"
#include "smartvm/dom0/grant/GrantClient.h"

namespace smartvm::dom0::blkback {

/// Linux xen-blkback's default max_persistent_grants per ring.
constexpr size_t kMaxPersistentGrants = 1056;

/// Maps and unmaps one frontend's grants (GrantClient in the daemon, memory in tests).
class GrantMapper {
 public:
  virtual ~GrantMapper() = default;
  [[nodiscard]] virtual Result<GrantClient::Mapping> map(grant_ref_t ref, bool readonly) = 0;
  [[nodiscard]] virtual Status unmap(const GrantClient::Mapping& m) = 0;
};

/// GrantMapper over dom0's grant device for one frontend domain.
class GrantClientMapper final : public GrantMapper {
 public:
  GrantClientMapper(GrantClient& client, uint32_t domid) : client_(client), domid_(domid) {}
  Result<GrantClient::Mapping> map(grant_ref_t ref, bool readonly) override {
    return client_.map(domid_, ref, readonly);
  }
  Status unmap(const GrantClient::Mapping& m) override { return client_.unmap(m); }

 private:
  GrantClient& client_;
  uint32_t domid_;
};

class PersistentGrantIo final : public GrantIo {
 public:
  /// `mapper` and `fallback` must outlive this object.
  PersistentGrantIo(GrantMapper& mapper, GrantIo& fallback, size_t maxGrants = kMaxPersistentGrants)
      : mapper_(mapper), fallback_(fallback), max_(maxGrants) {}
  ~PersistentGrantIo() override { unmapAll(); }
  PersistentGrantIo(const PersistentGrantIo&) = delete;
  PersistentGrantIo& operator=(const PersistentGrantIo&) = delete;

  [[nodiscard]] Status copyFromGuest(grant_ref_t ref, uint32_t offset, void* dst, size_t len) override;
  [[nodiscard]] Status copyToGuest(grant_ref_t ref, uint32_t offset, const void* src, size_t len) override;
  [[nodiscard]] Status copyFromGuestSegs(std::span<const Seg> segs) override;
  [[nodiscard]] Status copyToGuestSegs(std::span<const Seg> segs) override;

  /// Unmaps every cached grant (disconnect, close, removal, domain death).
  void unmapAll();

  struct Stats {
    uint64_t maps = 0;          ///< grants mapped and cached
    uint64_t mapFailures = 0;   ///< maps refused (not cached)
    uint64_t hits = 0;          ///< segments served from the cache
    uint64_t copied = 0;        ///< segments that went through the copy path
  };
  size_t cached() const { return cache_.size(); }
  size_t maxGrants() const { return max_; }
  const Stats& stats() const { return stats_; }

 private:
  /// The mapped page of `ref`: cached, or mapped now if the cache has room; nullptr otherwise.
  uint8_t* page(grant_ref_t ref);
  Status run(std::span<const Seg> segs, bool toGuest);

  GrantMapper& mapper_;
  GrantIo& fallback_;
  size_t max_;
  std::unordered_map<grant_ref_t, GrantClient::Mapping> cache_;
  std::vector<Seg> rest_;  // the copy path's share of a batch
  Stats stats_;
};

}  // namespace smartvm::dom0::blkback
