#pragma once
// A domain's RAM: one memfd, mapped once into smartvm-hv and handed to KVM as
// memory slots (the p2m). Below 4 GiB RAM stops at kLowRamTop to leave the
// MMIO hole; the rest starts at 4 GiB. A few special pages live in the same
// memfd after RAM, for hypervisor-owned frames the guest maps outside RAM.
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/hv/PhysMemory.h"
#include "smartvm/hv/kvm/VmBackend.h"

namespace smartvm::hv {

class GuestRam final : public PhysMemory {
 public:
  static constexpr uint64_t kPageSize = 4096;
  static constexpr uint64_t kLowRamTop = 0xC0000000ull;
  static constexpr uint64_t kHighRamBase = 0x100000000ull;
  /// Special pages 0..15 are for single frames (shared_info is 0, the console
  /// ring 1, the xenstore ring 2); 16..79 hold the grant-table frames
  /// (grant/GrantTable.h), up to Xen's 64.
  static constexpr uint32_t kSpecialPages = 16 + 64;
  static constexpr uint32_t kConsolePage = 1;
  static constexpr uint32_t kStorePage = 2;
  /// libxc's HVM/PVH special page region (xc_dom.h): the 8 frames below gfn
  /// 0xff000 (X86_HVM_END_SPECIAL_REGION, X86_HVM_NR_SPECIAL_PAGES), in the MMIO
  /// hole. libxl lists it as reserved in a PVH guest's memory map; so do we.
  static constexpr uint64_t kSpecialRegionEndGfn = 0xff000;
  static constexpr uint64_t kSpecialRegionPages = 8;
  /// xc_dom_x86.c's special_pfn(SPECIALPAGE_XENSTORE) and special_pfn(SPECIALPAGE_CONSOLE).
  static constexpr uint64_t kStoreGfn = kSpecialRegionEndGfn - kSpecialRegionPages + 4;
  static constexpr uint64_t kConsoleGfn = kSpecialRegionEndGfn - kSpecialRegionPages + 7;
  /// Highest guest-physical address (exclusive) a special page may be mapped at.
  static constexpr uint64_t kMaxGpa = 1ull << 40;

  /// Creates `bytes` of RAM (a multiple of 2 MiB... any multiple of 4 KiB) backed by a memfd.
  static Result<std::unique_ptr<GuestRam>> create(uint64_t bytes, const std::string& name);
  ~GuestRam() override;
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;

  /// Registers the RAM slots with the VM. Special pages are mapped later on demand.
  Status attach(VmBackend& vm);

  uint8_t* hostPtr(uint64_t gpa, uint64_t len) override;
  std::span<const MemMapEntry> memoryMap() const override { return map_; }
  uint64_t ramBytes() const override { return bytes_; }
  /// Whether [gpa, gpa+len) is guest RAM.
  bool isRam(uint64_t gpa, uint64_t len) const;

  /// Host address of special page `index` (zero-filled at creation).
  uint8_t* specialPage(uint32_t index);
  /// Maps special page `index` at `gpa`, outside RAM (replacing its previous
  /// placement); gpa == 0 unmaps it.
  Status mapSpecialPage(uint32_t index, uint64_t gpa);
  /// Guest-physical address special page `index` is mapped at, or 0.
  uint64_t specialPageGpa(uint32_t index) const { return specialGpa_[index].load(std::memory_order_acquire); }

  /// The memfd behind RAM and the special pages: dom0's grant mappings get a dup.
  int fd() const { return fd_; }
  /// Where the page at `gpa` lives in fd(): RAM (low or high) or a special page
  /// placed at `gpa`. EFAULT for anything else (MMIO hole, unplaced, beyond RAM).
  [[nodiscard]] Result<uint64_t> fdOffset(uint64_t gpa) const;
  /// Host address of the page at `gpa` under the same rules, or nullptr.
  uint8_t* framePtr(uint64_t gpa);

 private:
  GuestRam(int fd, uint8_t* base, uint64_t bytes);
  int fd_;
  uint8_t* base_;
  uint64_t bytes_;
  uint64_t lowBytes_;
  std::vector<MemMapEntry> map_;
  VmBackend* vm_ = nullptr;
  // Atomic: grant operations on control threads read placements vCPU threads change.
  std::atomic<uint64_t> specialGpa_[kSpecialPages]{};
};

/// Host memory available for new guest RAM (MemAvailable), in bytes.
uint64_t hostAvailableMemory();

}  // namespace smartvm::hv
