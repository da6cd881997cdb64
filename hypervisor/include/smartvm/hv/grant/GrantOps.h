#pragma once
// The grantee side of grant tables, for dom0 backends (and later the control
// socket): map and unmap a granted frame, and batched GNTTABOP_copy. Follows
// Xen's map_grant_ref, unmap_common and gnttab_copy: each operation reports
// its own GNTST_* code, and a hostile granter can at worst fail its own
// operations. Handles play the part of Xen's maptrack.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/grant_table.h>

#include <functional>
#include <mutex>
#include <span>
#include <unordered_map>

#include "smartvm/hv/grant/GrantTable.h"

namespace smartvm::hv {

class GrantOps {
 public:
  /// The grant table of domain `domid`, or nullptr when there is no such domain.
  /// The caller keeps the domain alive while GrantOps uses it.
  using TableLookup = std::function<GrantTable*(domid_t domid)>;
  /// Host address of the calling domain's own frame `gmfn` (the non-gref side
  /// of a copy), or nullptr when it has no such frame.
  using LocalFrames = std::function<uint8_t*(xen_pfn_t gmfn)>;
  /// Most mappings alive at once (Xen's default maptrack: 1024 frames of 512 handles).
  static constexpr size_t kMaxMappings = 1024 * 512;

  explicit GrantOps(TableLookup lookup) : lookup_(std::move(lookup)) {}

  struct Mapping {
    GrantStatus status = GNTST_general_error;
    grant_handle_t handle = 0;
    uint64_t gfn = 0;         ///< the granted frame in the granter's physical map
    uint8_t* host = nullptr;  ///< that frame as the hypervisor sees it (one page)
  };

  /// GNTTABOP_map_grant_ref for `grantee`: maps `granter`'s `ref`.
  /// GNTST_bad_domain, GNTST_bad_gntref (ref out of range), GNTST_general_error
  /// (not granted to `grantee`, or read-only asked for writing), GNTST_bad_page
  /// (the frame is not the granter's RAM), GNTST_no_space (too many mappings).
  [[nodiscard]] Mapping map(domid_t grantee, domid_t granter, grant_ref_t ref, bool readonly);
  /// GNTTABOP_unmap_grant_ref: GNTST_bad_handle unless `handle` is a live mapping of `grantee`.
  /// A granter destroyed (or rebuilt) since the map answers GNTST_okay with no flags to clear.
  [[nodiscard]] GrantStatus unmap(domid_t grantee, grant_handle_t handle);
  /// GNTTABOP_copy for `caller`: runs every op, writing each op's status.
  /// Returns how many ops ended GNTST_okay.
  size_t copy(domid_t caller, std::span<gnttab_copy_t> ops, const LocalFrames& local);
  /// Live mappings, for tests and dumps.
  size_t mappingCount() const;
  /// The granter of live mapping `handle` of `grantee`, if there is one.
  [[nodiscard]] bool granterOf(domid_t grantee, grant_handle_t handle, domid_t& granter) const;

 private:
  struct Record {
    domid_t grantee;
    domid_t granter;
    grant_ref_t ref;
    bool readonly;
    GrantTable* table;  // to notice the granter being replaced under the same domid
    uint64_t serial;    // table->serial(): a new table may reuse the old one's address
  };
  /// One side of a copy once claimed: its page and, for a gref, what to release.
  struct CopyBuf {
    uint8_t* page = nullptr;
    GrantTable* table = nullptr;  // non-null: a pinned gref
    grant_ref_t ref = 0;
    bool readonly = true;
  };

  GrantStatus claim(domid_t caller, const gnttab_copy_t::gnttab_copy_ptr& ptr, bool isGref, bool readonly,
                    const LocalFrames& local, CopyBuf& buf);
  GrantStatus copyOne(domid_t caller, const gnttab_copy_t& op, const LocalFrames& local);
  grant_handle_t nextHandleLocked();

  TableLookup lookup_;
  mutable std::mutex m_;  // the handle table; never held while calling into a GrantTable
  std::unordered_map<grant_handle_t, Record> mappings_;
  grant_handle_t nextHandle_ = 0;
};

}  // namespace smartvm::hv
