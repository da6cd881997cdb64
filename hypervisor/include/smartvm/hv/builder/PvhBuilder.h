#pragma once
// PVH domain builder: loads a Xen PVH kernel and its boot data into guest RAM.
#include <cstdint>
#include <span>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/hv/PhysMemory.h"

namespace smartvm::hv {

/// What to boot. The spans are only read during buildPvh.
struct PvhBuildParams {
  std::span<const uint8_t> kernel;   ///< ELF image with XEN_ELFNOTE_PHYS32_ENTRY
  std::span<const uint8_t> ramdisk;  ///< optional initrd, passed as module 0
  std::string cmdline;               ///< at most kMaxPvhCmdline - 1 characters
};

/// Where things landed. All addresses handed to the guest are below 4 GiB.
struct PvhBootInfo {
  uint32_t entry;         ///< initial eip (32-bit flat protected mode, paging off)
  uint32_t startInfoGpa;  ///< initial ebx: struct hvm_start_info
  uint64_t kernelStart, kernelEnd;  ///< [lowest, highest) byte of the PT_LOAD segments
  uint64_t ramdiskGpa, ramdiskSize;  ///< 0, 0 without a ramdisk
  uint64_t firstFreeGpa;  ///< page-aligned end of everything the builder placed
  std::string guestOs;    ///< XEN_ELFNOTE_GUEST_OS, for logs (may be empty)
};

/// Largest command line in bytes, including its terminating NUL.
inline constexpr size_t kMaxPvhCmdline = 4096;

/// Loads every PT_LOAD segment of `p.kernel` at its physical address and,
/// page-aligned after the kernel's highest byte, the ramdisk, struct
/// hvm_start_info (version 1), the module list, the memory map (copied from
/// mem.memoryMap()) and the command line. Errors: ENOEXEC (bad ELF or no PVH
/// note), EINVAL (segment outside guest RAM, entry outside the segments,
/// NUL inside the command line), E2BIG (command line too long, boot data
/// does not fit in RAM below 4 GiB).
[[nodiscard]] Result<PvhBootInfo> buildPvh(PhysMemory& mem, const PvhBuildParams& p);

}  // namespace smartvm::hv
