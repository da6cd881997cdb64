#pragma once
// A domain's grant table, version 1 (Xen's xen/common/grant_table.c, granter
// side). The frames are hypervisor-owned special pages of the domain's memfd
// until the guest places them with XENMEM_add_to_physmap(XENMAPSPACE_grant_table):
// placed on a RAM frame, that frame becomes the grant frame (its old contents
// replaced, as shared_info does); placed outside RAM, the special page is
// mapped there. The table starts with one frame and grows on demand up to its
// maximum. Entries live in guest-writable memory, so every flag update is an
// atomic compare-exchange that tolerates a guest racing it.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/grant_table.h>

#include <array>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "smartvm/Status.h"
#include "smartvm/hv/GuestRam.h"

namespace smartvm::hv {

/// A GNTST_* code (xen/grant_table.h): the per-operation result Xen reports.
using GrantStatus = int16_t;

class GrantTable {
 public:
  /// Xen's gnttab_max_frames default (xen-command-line). Since the toolstack
  /// stopped hard-coding its own value (xl passes -1, Xen 4.13/4.14) that is
  /// what a domain without max_grant_frames gets; xl 4.10-4.12 used 32. Also
  /// the hard cap here, as gnttab_max_frames caps max_grant_frames in Xen.
  static constexpr uint32_t kDefaultMaxFrames = 64;
  static constexpr uint32_t kMaxFramesLimit = 64;
  /// Xen's INITIAL_NR_GRANT_FRAMES.
  static constexpr uint32_t kInitialFrames = 1;
  /// GuestRam special pages kFirstSpecialPage.. back the frames.
  static constexpr uint32_t kFirstSpecialPage = 16;
  static constexpr uint32_t kEntriesPerFrame = GuestRam::kPageSize / sizeof(grant_entry_v1_t);
  /// frameGfn() of a frame the guest has not placed (Xen's INVALID_M2P_ENTRY).
  static constexpr uint64_t kUnplaced = ~0ull;
  static_assert(kFirstSpecialPage + kMaxFramesLimit <= GuestRam::kSpecialPages);

  /// `maxFrames` of 0 means kDefaultMaxFrames; values above kMaxFramesLimit are clamped
  /// (Hypervisor refuses such configs before a domain exists).
  GrantTable(GuestRam& ram, uint32_t maxFrames);
  GrantTable(const GrantTable&) = delete;
  GrantTable& operator=(const GrantTable&) = delete;

  uint32_t maxFrames() const { return maxFrames_; }
  uint32_t nrFrames() const;
  /// Only version 1 exists here (Xen with max_grant_version = 1).
  static constexpr uint32_t version() { return 1; }

  /// Grows the table to at least `frames` frames; EINVAL beyond maxFrames().
  [[nodiscard]] Status grow(uint32_t frames);
  /// XENMAPSPACE_grant_table: places frame `idx` at guest frame `gpfn`,
  /// growing the table to hold it (Xen's gnttab_get_shared_frame_mfn). A frame
  /// already at `gpfn` is taken back to its special page first.
  [[nodiscard]] Status placeFrame(uint64_t idx, uint64_t gpfn);
  /// Guest frame number frame `idx` is placed at, or kUnplaced.
  uint64_t frameGfn(uint32_t idx) const;
  /// Host view of entry `ref`, nullptr when ref is beyond the current frames.
  /// The guest may rewrite it at any time; the pointer holds until the next placeFrame().
  grant_entry_v1_t* entry(grant_ref_t ref);

  /// Pins `ref` for `grantee` (Xen's map_grant_ref / acquire_grant_for_copy,
  /// v1): on the first pin the entry must be GTF_permit_access (and, for a
  /// mapping, not GTF_sub_page) for `grantee`; a write pin needs the entry not
  /// GTF_readonly. Sets GTF_reading (and GTF_writing) and latches the granted
  /// frame, which must be guest RAM. Writes that frame's gfn to `gfn`.
  [[nodiscard]] GrantStatus acquire(grant_ref_t ref, domid_t grantee, bool readonly, bool mapping, uint64_t& gfn);
  /// Drops one pin taken by acquire(); clears GTF_writing when the last write
  /// pin goes and GTF_reading when the last pin goes.
  void release(grant_ref_t ref, bool readonly);
  /// Host address of the granter's frame `gfn`: guest RAM or a special page
  /// placed at that gfn (the console and xenstore rings that grant refs 0 and
  /// 1 name); nullptr otherwise.
  uint8_t* ramFrame(uint64_t gfn);
  /// Unique over the process's lifetime: tells a table apart from a later one
  /// at the same address (a restarted domain), where a pointer cannot.
  uint64_t serial() const { return serial_; }
  /// Pins currently held on `ref` (read and write), for tests and dumps.
  uint32_t pins(grant_ref_t ref) const;

 private:
  struct Active {  // Xen's active_grant_entry
    domid_t domid = 0;
    uint64_t gfn = 0;
    uint32_t readers = 0;
    uint32_t writers = 0;
    uint32_t total() const { return readers + writers; }
  };

  uint8_t* frameLocked(uint32_t idx) const { return frames_[idx]; }
  Status growLocked(uint32_t frames);
  void unplaceLocked(uint32_t idx);
  grant_entry_v1_t* entryLocked(grant_ref_t ref);

  GuestRam& ram_;
  const uint32_t maxFrames_;
  const uint64_t serial_;
  mutable std::mutex m_;  // frames, placement and pins; never held across guest waits
  uint32_t nrFrames_ = 0;
  std::array<uint8_t*, kMaxFramesLimit> frames_{};  // current storage of each frame
  std::array<uint64_t, kMaxFramesLimit> gfns_{};
  std::unordered_map<grant_ref_t, Active> active_;
};

}  // namespace smartvm::hv
