#pragma once
// Loading a PVH kernel into a new domain and setting vCPU 0 up to enter it.
#include "smartvm/Result.h"
#include "smartvm/hv/GuestRam.h"
#include "smartvm/hv/kvm/VmBackend.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::hv {

struct PvhEntry {
  uint32_t entry;      ///< XEN_ELFNOTE_PHYS32_ENTRY
  uint32_t startInfo;  ///< guest-physical address of struct hvm_start_info
};

/// Largest kernel or ramdisk file smartvm-hv reads.
inline constexpr uint64_t kMaxImageBytes = 1ull << 30;

/// Reads the config's kernel (and ramdisk) and builds the PVH boot layout in RAM.
Result<PvhEntry> loadPvhKernel(GuestRam& ram, const smartvm::v1::DomainConfig& config);

/// The PVH entry state: 32-bit flat protected mode, paging off, ebx = start info.
Status setPvhBootState(VcpuBackend& vcpu, const PvhEntry& entry);

/// Reads a whole file, refusing ones larger than `limit` bytes.
Result<std::vector<uint8_t>> readFileLimited(const std::string& path, uint64_t limit, const char* what);

}  // namespace smartvm::hv
