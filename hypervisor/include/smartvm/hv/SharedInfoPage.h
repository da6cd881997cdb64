#pragma once
// The domain's shared_info frame. Until the guest places it with
// XENMEM_add_to_physmap it lives in a hypervisor-owned special page. Placed on
// a RAM frame, that frame becomes the shared_info (its old contents are
// replaced, as on Xen); placed outside RAM, the special page is mapped there.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/xen.h>

#include <atomic>
#include <mutex>

#include "smartvm/Status.h"
#include "smartvm/hv/GuestRam.h"

namespace smartvm::hv {

class SharedInfoPage {
 public:
  static constexpr uint32_t kSpecialIndex = 0;

  explicit SharedInfoPage(GuestRam& ram);

  /// Moves shared_info to guest frame `gpfn`, keeping its contents.
  Status placeAt(uint64_t gpfn);
  /// Current host view of shared_info. Stable until the next placeAt().
  shared_info_t* get() const { return info_.load(std::memory_order_acquire); }
  static constexpr uint64_t kNotPlaced = ~0ull;
  /// Guest-physical address, or kNotPlaced if the guest has not placed it.
  uint64_t gpa() const { return gpa_; }
  vcpu_info_t* vcpuInfo(uint32_t vcpu) const;

 private:
  GuestRam& ram_;
  std::atomic<shared_info_t*> info_;  // read by other threads raising events
  uint64_t gpa_ = kNotPlaced;
  std::mutex m_;
};

}  // namespace smartvm::hv
