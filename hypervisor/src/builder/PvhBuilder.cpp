#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/builder/PvhBuilder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <xen/arch-x86/hvm/start_info.h>

#include "smartvm/hv/builder/BootAllocator.h"
#include "smartvm/hv/builder/ElfImage.h"

namespace smartvm::hv {
namespace {

constexpr uint64_t kPageSize = 4096;
// ebx carries the start info address and the guest starts with paging off,
// so everything it is told about must be 32-bit addressable.
constexpr uint64_t kBootDataLimit = 1ull << 32;

struct KernelExtent {
  uint64_t start = UINT64_MAX;
  uint64_t end = 0;
};

Status checkCmdline(const std::string& cmdline) {
  if (cmdline.size() >= kMaxPvhCmdline) {
    return error(E2BIG, fmt::format("command line of {} bytes exceeds the limit of {} bytes (with its NUL)",
                                    cmdline.size() + 1, kMaxPvhCmdline));
  }
  if (cmdline.find('\0') != std::string::npos) return error(EINVAL, "command line contains a NUL byte");
  return Status::ok();
}

/// Checks every segment before copying any, so a bad image leaves RAM untouched.
Result<KernelExtent> checkSegments(PhysMemory& mem, const ElfImage& elf) {
  KernelExtent ext;
  for (const ElfSegment& s : elf.loadSegments()) {
    if (mem.hostPtr(s.paddr, s.memsz) == nullptr) {
      return error(EINVAL, fmt::format("ELF segment {} [{:#x}-{:#x}) lies outside guest RAM", s.index, s.paddr,
                                       s.paddr + s.memsz));
    }
    ext.start = std::min(ext.start, s.paddr);
    ext.end = std::max(ext.end, s.paddr + s.memsz);
  }
  return ext;
}

void copySegments(PhysMemory& mem, const ElfImage& elf) {
  for (const ElfSegment& s : elf.loadSegments()) {
    uint8_t* dst = mem.hostPtr(s.paddr, s.memsz);
    if (!s.data.empty()) std::memcpy(dst, s.data.data(), s.data.size());
    std::memset(dst + s.data.size(), 0, s.memsz - s.data.size());
  }
}

Status checkEntry(const ElfImage& elf, uint32_t entry) {
  for (const ElfSegment& s : elf.loadSegments()) {
    if (entry >= s.paddr && entry - s.paddr < s.memsz) return Status::ok();
  }
  return error(EINVAL, fmt::format("PVH entry point {:#x} is not inside a loaded ELF segment", entry));
}

/// Copies `len` bytes to guest RAM the allocator just handed out.
void put(PhysMemory& mem, uint64_t gpa, const void* src, size_t len) {
  std::memcpy(mem.hostPtr(gpa, len), src, len);
}

Result<uint64_t> placeBytes(PhysMemory& mem, BootAllocator& alloc, std::span<const uint8_t> bytes,
                            uint64_t align, std::string_view what) {
  SMARTVM_ASSIGN_OR_RETURN(uint64_t gpa, alloc.allocate(bytes.size(), align, what));
  put(mem, gpa, bytes.data(), bytes.size());
  return gpa;
}

Result<uint64_t> placeMemoryMap(PhysMemory& mem, BootAllocator& alloc, uint32_t& entries) {
  std::span<const MemMapEntry> map = mem.memoryMap();
  if (map.size() > UINT32_MAX) return error(E2BIG, "memory map has too many entries");
  entries = static_cast<uint32_t>(map.size());
  if (map.empty()) return uint64_t{0};
  std::vector<hvm_memmap_table_entry> table(map.size());
  for (size_t i = 0; i < map.size(); ++i) table[i] = {map[i].addr, map[i].size, map[i].type, 0};
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(table.data()),
                                 table.size() * sizeof(hvm_memmap_table_entry));
  return placeBytes(mem, alloc, bytes, 8, "memory map");
}

/// The ramdisk as module 0, without a module command line.
Status placeModuleList(PhysMemory& mem, BootAllocator& alloc, const PvhBootInfo& info, hvm_start_info& si) {
  hvm_modlist_entry mod{info.ramdiskGpa, info.ramdiskSize, 0, 0};
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(&mod), sizeof mod);
  SMARTVM_ASSIGN_OR_RETURN(si.modlist_paddr, placeBytes(mem, alloc, bytes, 8, "module list"));
  si.nr_modules = 1;
  return Status::ok();
}

/// Places the start info and everything it points to; fills `info`.
Status placeBootData(PhysMemory& mem, const PvhBuildParams& p, BootAllocator& alloc, PvhBootInfo& info) {
  hvm_start_info si{};
  si.magic = XEN_HVM_START_MAGIC_VALUE;
  si.version = 1;
  if (!p.ramdisk.empty()) {
    SMARTVM_ASSIGN_OR_RETURN(info.ramdiskGpa, placeBytes(mem, alloc, p.ramdisk, kPageSize, "ramdisk"));
    info.ramdiskSize = p.ramdisk.size();
  }
  SMARTVM_ASSIGN_OR_RETURN(uint64_t siGpa, alloc.allocate(sizeof si, kPageSize, "start info"));
  if (info.ramdiskSize != 0) SMARTVM_TRY(placeModuleList(mem, alloc, info, si));
  SMARTVM_ASSIGN_OR_RETURN(si.memmap_paddr, placeMemoryMap(mem, alloc, si.memmap_entries));
  if (!p.cmdline.empty()) {
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(p.cmdline.c_str()), p.cmdline.size() + 1);
    SMARTVM_ASSIGN_OR_RETURN(si.cmdline_paddr, placeBytes(mem, alloc, bytes, 1, "command line"));
  }
  put(mem, siGpa, &si, sizeof si);
  info.startInfoGpa = static_cast<uint32_t>(siGpa);
  return Status::ok();
}

}  // namespace

Result<PvhBootInfo> buildPvh(PhysMemory& mem, const PvhBuildParams& p) {
  SMARTVM_ASSIGN_OR_RETURN(ElfImage elf, ElfImage::parse(p.kernel));
  if (!elf.xenNotes().phys32Entry) {
    return error(ENOEXEC, "kernel has no XEN_ELFNOTE_PHYS32_ENTRY note: not a PVH kernel");
  }
  const uint32_t entry = *elf.xenNotes().phys32Entry;
  SMARTVM_TRY(checkEntry(elf, entry));
  SMARTVM_TRY(checkCmdline(p.cmdline));
  SMARTVM_ASSIGN_OR_RETURN(KernelExtent ext, checkSegments(mem, elf));
  copySegments(mem, elf);

  PvhBootInfo info{};
  info.entry = entry;
  info.kernelStart = ext.start;
  info.kernelEnd = ext.end;
  info.guestOs = elf.xenNotes().guestOs;
  // Clamping first keeps the page rounding from overflowing; a kernel ending
  // above the limit leaves no room, which the allocator reports as E2BIG.
  const uint64_t after = std::min(ext.end, kBootDataLimit);
  BootAllocator alloc(mem, (after + kPageSize - 1) & ~(kPageSize - 1), kBootDataLimit);
  SMARTVM_TRY(placeBootData(mem, p, alloc, info));
  info.firstFreeGpa = (alloc.cursor() + kPageSize - 1) & ~(kPageSize - 1);
  return info;
}

}  // namespace smartvm::hv
