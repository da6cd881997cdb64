#include "smartvm/hv/grant/GrantTable.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <string>

namespace smartvm::hv {
namespace {

// flags (low half) and domid (high half) of a v1 entry as one word, so a
// single compare-exchange sees both (Xen's union grant_combo).
static_assert(offsetof(grant_entry_v1_t, flags) == 0 && offsetof(grant_entry_v1_t, domid) == 2);
static_assert(std::endian::native == std::endian::little);

std::atomic_ref<uint32_t> combo(grant_entry_v1_t* e) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(e));
}

// Xen's _set_status_v1. The guest may rewrite the entry between our read and
// the exchange; a few retries allow honest races (e.g. toggling GTF_readonly)
// while a guest hammering the entry cannot livelock us.
GrantStatus setStatus(grant_entry_v1_t* e, domid_t grantee, bool readonly, bool mapping, bool pinned) {
  constexpr int kMaxRetries = 4;
  const uint32_t typeMask = GTF_type_mask | (mapping ? GTF_sub_page : 0u);
  auto word = combo(e);
  uint32_t cur = word.load(std::memory_order_acquire);
  for (int retries = 0;; ++retries) {
    const uint32_t flags = cur & 0xffffu;
    const uint32_t domid = cur >> 16;
    // Once pinned, Xen no longer re-checks type and domid: the pin stands.
    if (!pinned && ((flags & typeMask) != GTF_permit_access || domid != grantee)) return GNTST_general_error;
    uint32_t want = cur | GTF_reading;
    if (!readonly) {
      if (flags & GTF_readonly) return GNTST_general_error;
      want |= GTF_writing;
    }
    if (word.compare_exchange_strong(cur, want, std::memory_order_acq_rel)) return GNTST_okay;
    if (retries == kMaxRetries) return GNTST_general_error;  // the guest keeps changing it
  }
}

std::atomic<uint64_t> nextSerial{0};

void clearFlags(grant_entry_v1_t* e, uint32_t flags) {
  // A plain atomic AND cannot be starved by the guest, unlike a CAS loop.
  combo(e).fetch_and(~flags, std::memory_order_acq_rel);
}

}  // namespace

GrantTable::GrantTable(GuestRam& ram, uint32_t maxFrames)
    : ram_(ram),
      maxFrames_(maxFrames == 0 ? kDefaultMaxFrames : std::min(maxFrames, kMaxFramesLimit)),
      serial_(nextSerial.fetch_add(1) + 1) {
  gfns_.fill(kUnplaced);
  std::lock_guard lk(m_);
  // The special pages start zeroed (a fresh memfd): every entry GTF_invalid.
  (void)growLocked(kInitialFrames);
}

uint32_t GrantTable::nrFrames() const {
  std::lock_guard lk(m_);
  return nrFrames_;
}

Status GrantTable::grow(uint32_t frames) {
  std::lock_guard lk(m_);
  return growLocked(frames);
}

Status GrantTable::growLocked(uint32_t frames) {
  if (frames > maxFrames_) return error(EINVAL, "grant table limited to " + std::to_string(maxFrames_) + " frames");
  for (uint32_t i = nrFrames_; i < frames; ++i) {
    frames_[i] = ram_.specialPage(kFirstSpecialPage + i);
    std::memset(frames_[i], 0, GuestRam::kPageSize);
  }
  nrFrames_ = std::max(nrFrames_, frames);
  return Status::ok();
}

Status GrantTable::placeFrame(uint64_t idx, uint64_t gpfn) {
  std::lock_guard lk(m_);
  if (idx >= maxFrames_) return error(EINVAL, "grant frame index " + std::to_string(idx) + " beyond the maximum");
  if (gpfn > (GuestRam::kMaxGpa >> 12) - 1) return error(EINVAL, "gpfn beyond the guest-physical address space");
  const auto i = static_cast<uint32_t>(idx);
  SMARTVM_TRY(growLocked(std::max(nrFrames_, i + 1)));
  if (gfns_[i] == gpfn) return Status::ok();
  for (uint32_t j = 0; j < nrFrames_; ++j) {
    if (j != i && gfns_[j] == gpfn) unplaceLocked(j);  // Xen replaces whatever was at the gfn
  }
  const uint32_t special = kFirstSpecialPage + i;
  uint8_t* specialPage = ram_.specialPage(special);
  const uint64_t gpa = gpfn << 12;
  if (uint8_t* ramPage = ram_.hostPtr(gpa, GuestRam::kPageSize)) {
    std::memmove(ramPage, frames_[i], GuestRam::kPageSize);
    if (ram_.specialPageGpa(special) != 0) SMARTVM_TRY(ram_.mapSpecialPage(special, 0));
    frames_[i] = ramPage;
  } else {
    SMARTVM_TRY(ram_.mapSpecialPage(special, gpa));
    if (frames_[i] != specialPage) std::memcpy(specialPage, frames_[i], GuestRam::kPageSize);
    frames_[i] = specialPage;
  }
  gfns_[i] = gpfn;
  return Status::ok();
}

void GrantTable::unplaceLocked(uint32_t idx) {
  const uint32_t special = kFirstSpecialPage + idx;
  uint8_t* specialPage = ram_.specialPage(special);
  if (frames_[idx] != specialPage) std::memcpy(specialPage, frames_[idx], GuestRam::kPageSize);
  // Unmapping a slot we mapped ourselves only fails if KVM is gone; the frame stays usable either way.
  if (ram_.specialPageGpa(special) != 0) (void)ram_.mapSpecialPage(special, 0);
  frames_[idx] = specialPage;
  gfns_[idx] = kUnplaced;
}

uint64_t GrantTable::frameGfn(uint32_t idx) const {
  std::lock_guard lk(m_);
  return idx < nrFrames_ ? gfns_[idx] : kUnplaced;
}

grant_entry_v1_t* GrantTable::entry(grant_ref_t ref) {
  std::lock_guard lk(m_);
  return entryLocked(ref);
}

grant_entry_v1_t* GrantTable::entryLocked(grant_ref_t ref) {
  if (ref / kEntriesPerFrame >= nrFrames_) return nullptr;
  return reinterpret_cast<grant_entry_v1_t*>(frameLocked(ref / kEntriesPerFrame)) + ref % kEntriesPerFrame;
}

uint8_t* GrantTable::ramFrame(uint64_t gfn) {
  if (gfn > (GuestRam::kMaxGpa >> 12)) return nullptr;
  return ram_.framePtr(gfn << 12);
}

GrantStatus GrantTable::acquire(grant_ref_t ref, domid_t grantee, bool readonly, bool mapping, uint64_t& gfn) {
  // Bounds each pin count well below overflow (Xen: act->pin & 0x80808080).
  constexpr uint32_t kMaxPins = 1u << 24;
  std::lock_guard lk(m_);
  grant_entry_v1_t* e = entryLocked(ref);
  if (e == nullptr) return GNTST_bad_gntref;
  Active& act = active_[ref];
  const bool pinned = act.total() != 0;
  if (pinned && (act.domid != grantee || act.readers >= kMaxPins || act.writers >= kMaxPins)) {
    return GNTST_general_error;
  }
  if (!pinned || (!readonly && act.writers == 0)) {
    if (GrantStatus rc = setStatus(e, grantee, readonly, mapping, pinned); rc != GNTST_okay) {
      if (!pinned) active_.erase(ref);
      return rc;
    }
  }
  if (!pinned) {
    const uint64_t frame = std::atomic_ref<uint32_t>(e->frame).load(std::memory_order_acquire);
    if (ramFrame(frame) == nullptr) {
      // Undo what setStatus set, as Xen's unlock_out_clear does.
      clearFlags(e, readonly ? GTF_reading : GTF_reading | GTF_writing);
      active_.erase(ref);
      return GNTST_bad_page;
    }
    act.domid = grantee;
    act.gfn = frame;
  }
  ++(readonly ? act.readers : act.writers);
  gfn = act.gfn;
  return GNTST_okay;
}

void GrantTable::release(grant_ref_t ref, bool readonly) {
  std::lock_guard lk(m_);
  auto it = active_.find(ref);
  grant_entry_v1_t* e = entryLocked(ref);
  if (it == active_.end() || e == nullptr) return;
  Active& act = it->second;
  uint32_t& count = readonly ? act.readers : act.writers;
  if (count == 0) return;
  --count;
  uint32_t clear = 0;
  if (!readonly && act.writers == 0) clear |= GTF_writing;
  if (act.total() == 0) {
    clear |= GTF_reading;
    active_.erase(it);
  }
  if (clear != 0) clearFlags(e, clear);
}

uint32_t GrantTable::pins(grant_ref_t ref) const {
  std::lock_guard lk(m_);
  auto it = active_.find(ref);
  return it == active_.end() ? 0 : it->second.total();
}

}  // namespace smartvm::hv
