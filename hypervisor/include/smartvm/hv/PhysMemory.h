#pragma once
// A domain's guest-physical address space as seen from the hypervisor.
#include <cstdint>
#include <span>
#include <vector>

namespace smartvm::hv {

/// One entry of the guest's memory map (e820 types from xen/arch-x86/hvm/start_info.h:
/// XEN_HVM_MEMMAP_TYPE_RAM, _RESERVED, ...).
struct MemMapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};

/// Guest-physical memory. Implementations: the domain's memfd-backed p2m,
/// and plain buffers in unit tests.
class PhysMemory {
 public:
  virtual ~PhysMemory() = default;

  /// Host pointer to [gpa, gpa + len) when that range lies wholly inside one
  /// guest RAM region; nullptr otherwise (including on overflow and len == 0).
  virtual uint8_t* hostPtr(uint64_t gpa, uint64_t len) = 0;

  /// The memory map the guest is told about (RAM and reserved ranges, sorted).
  virtual std::span<const MemMapEntry> memoryMap() const = 0;

  /// Total guest RAM in bytes.
  virtual uint64_t ramBytes() const = 0;
};

}  // namespace smartvm::hv
