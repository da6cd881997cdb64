#include "smartvm/hv/SharedInfoPage.h"

#include <cstring>

namespace smartvm::hv {

SharedInfoPage::SharedInfoPage(GuestRam& ram)
    : ram_(ram), info_(reinterpret_cast<shared_info_t*>(ram.specialPage(kSpecialIndex))) {
  shared_info_t* info = get();
  std::memset(info, 0, GuestRam::kPageSize);
  // Event delivery starts masked on every vCPU, as Xen leaves it at creation.
  for (auto& v : info->vcpu_info) v.evtchn_upcall_mask = 1;
}

Status SharedInfoPage::placeAt(uint64_t gpfn) {
  std::lock_guard lk(m_);
  if (gpfn > (GuestRam::kMaxGpa >> 12) - 1) return error(EINVAL, "gpfn beyond the guest-physical address space");
  const uint64_t gpa = gpfn << 12;
  if (gpa == gpa_) return Status::ok();
  uint8_t* special = ram_.specialPage(kSpecialIndex);
  if (uint8_t* ramPage = ram_.hostPtr(gpa, GuestRam::kPageSize)) {
    std::memmove(ramPage, get(), GuestRam::kPageSize);
    if (ram_.specialPageGpa(kSpecialIndex) != 0) SMARTVM_TRY(ram_.mapSpecialPage(kSpecialIndex, 0));
    info_.store(reinterpret_cast<shared_info_t*>(ramPage), std::memory_order_release);
  } else {
    if (reinterpret_cast<uint8_t*>(get()) != special) std::memcpy(special, get(), GuestRam::kPageSize);
    SMARTVM_TRY(ram_.mapSpecialPage(kSpecialIndex, gpa));
    info_.store(reinterpret_cast<shared_info_t*>(special), std::memory_order_release);
  }
  gpa_ = gpa;
  return Status::ok();
}

vcpu_info_t* SharedInfoPage::vcpuInfo(uint32_t vcpu) const {
  return vcpu < XEN_LEGACY_MAX_VCPUS ? &get()->vcpu_info[vcpu] : nullptr;
}

}  // namespace smartvm::hv
