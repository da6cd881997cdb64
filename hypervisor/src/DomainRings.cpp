// The xenstore and console rings a domain gets at build, as Xen's toolstack
// sets them up for a PVH guest (libxc xc_dom_x86.c, xc_dom_gnttab_seed, libxl):
// two special pages at libxc's gfns, an unbound guest port for each offered to
// dom0, the HVM params that announce them and grant refs 0 and 1 naming them.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/grant_table.h>

#include <atomic>
#include <cstring>

#include "smartvm/hv/Domain.h"

namespace smartvm::hv {
namespace {

constexpr uint16_t kDom0 = evtchn::EventChannels::kControlDomain;

/// Xen's xc_dom_gnttab_seed: `ref` grants frame `gfn` to dom0 for mapping.
void seedGrant(GrantTable& gt, grant_ref_t ref, uint64_t gfn) {
  grant_entry_v1_t* e = gt.entry(ref);
  if (e == nullptr) return;  // the table always has frame 0; cannot happen
  e->domid = kDom0;
  e->frame = static_cast<uint32_t>(gfn);
  // Flags last: an entry is live once GTF_permit_access shows.
  std::atomic_ref<uint16_t>(e->flags).store(GTF_permit_access, std::memory_order_release);
}

}  // namespace

Status Domain::setUpXenRings() {
  XenRings rings;
  for (const auto& [index, gfn] : {std::pair{GuestRam::kStorePage, GuestRam::kStoreGfn},
                                   std::pair{GuestRam::kConsolePage, GuestRam::kConsoleGfn}}) {
    // RAM is a fresh memfd on every boot, so the pages start zeroed; say so anyway.
    std::memset(ram_->specialPage(index), 0, GuestRam::kPageSize);
    SMARTVM_TRY(ram_->mapSpecialPage(index, gfn * GuestRam::kPageSize));
  }
  rings.storeGfn = GuestRam::kStoreGfn;
  rings.consoleGfn = GuestRam::kConsoleGfn;
  seedGrant(*grantTable_, GNTTAB_RESERVED_CONSOLE, rings.consoleGfn);
  seedGrant(*grantTable_, GNTTAB_RESERVED_XENSTORE, rings.storeGfn);

  std::unique_ptr<XenConsole> console;
  if (evtchn::EventChannels* ec = services_.eventChannels) {
    // xl's xc_evtchn_alloc_unbound(domid, remote 0) for each ring. Allocated as
    // the guest itself (same result) so it works without dom0 registered.
    const auto self = static_cast<uint16_t>(domid_);
    evtchn_alloc_unbound store{DOMID_SELF, kDom0, 0};
    evtchn_alloc_unbound cons{DOMID_SELF, kDom0, 0};
    if (const int64_t rc = ec->allocUnbound(self, store); rc < 0) {
      return error(static_cast<int>(-rc), "no event channel port for the xenstore ring");
    }
    if (const int64_t rc = ec->allocUnbound(self, cons); rc < 0) {
      return error(static_cast<int>(-rc), "no event channel port for the console ring");
    }
    rings.storePort = store.port;
    rings.consolePort = cons.port;
    if (services_.dom0Events != nullptr) {
      auto* page = reinterpret_cast<xencons_interface*>(ram_->specialPage(GuestRam::kConsolePage));
      SMARTVM_ASSIGN_OR_RETURN(console,
                               XenConsole::attach(*services_.dom0Events, self, cons.port, page, console_, *log_));
    }
  }
  setHvmParam(HVM_PARAM_STORE_PFN, rings.storeGfn);
  setHvmParam(HVM_PARAM_STORE_EVTCHN, rings.storePort);
  setHvmParam(HVM_PARAM_CONSOLE_PFN, rings.consoleGfn);
  setHvmParam(HVM_PARAM_CONSOLE_EVTCHN, rings.consolePort);
  std::lock_guard lk(ringsMutex_);
  rings_ = rings;
  xenConsole_ = std::move(console);
  return Status::ok();
}

void Domain::tearDownXenRings() {
  std::unique_ptr<XenConsole> console;
  {
    std::lock_guard lk(ringsMutex_);
    console = std::move(xenConsole_);
    rings_ = {};
  }
  // Outside ringsMutex_: closing waits for a drain in flight on the doorbell thread.
  console.reset();
}

void Domain::flushConsoleRing() {
  std::lock_guard lk(ringsMutex_);
  if (xenConsole_) xenConsole_->flush();
}

XenRings Domain::xenRings() const {
  std::lock_guard lk(ringsMutex_);
  return rings_;
}

Result<size_t> Domain::consoleInput(std::string_view data) {
  std::lock_guard lk(ringsMutex_);
  if (!xenConsole_) return error(ENODEV, "domain '" + name() + "' has no console ring served by the hypervisor");
  return xenConsole_->write(data);
}

}  // namespace smartvm::hv
