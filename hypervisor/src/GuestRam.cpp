#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/GuestRam.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xen/arch-x86/hvm/start_info.h>

#include <fstream>
#include <string>

namespace smartvm::hv {
namespace {
// Slots 0 and 1 hold RAM; special pages use the slots after them.
constexpr uint32_t kFirstSpecialSlot = 2;
}  // namespace

Result<std::unique_ptr<GuestRam>> GuestRam::create(uint64_t bytes, const std::string& name) {
  if (bytes == 0 || bytes % kPageSize != 0) return error(EINVAL, "guest RAM must be a positive multiple of 4 KiB");
  if (bytes > kMaxGpa / 2) return error(E2BIG, "guest RAM of " + std::to_string(bytes >> 20) + " MiB is too large");
  const int fd = memfd_create(("smartvm:" + name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return errnoStatus("memfd_create");
  const uint64_t total = bytes + kSpecialPages * kPageSize;
  if (ftruncate(fd, static_cast<off_t>(total)) < 0) {
    Status s = errnoStatus("ftruncate guest RAM");
    ::close(fd);
    return s;
  }
  // dom0 backends get descriptors of this memfd for grant mappings: a size
  // they cannot change means none of them can SIGBUS us (or the guest).
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
    Status s = errnoStatus("seal guest RAM's size");
    ::close(fd);
    return s;
  }
  // MAP_NORESERVE: pages are allocated as the guest touches them.
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    Status s = errnoStatus("mmap guest RAM");
    ::close(fd);
    return s;
  }
  return std::unique_ptr<GuestRam>(new GuestRam(fd, static_cast<uint8_t*>(p), bytes));
}

GuestRam::GuestRam(int fd, uint8_t* base, uint64_t bytes)
    : fd_(fd), base_(base), bytes_(bytes), lowBytes_(std::min(bytes, kLowRamTop)) {
  map_.push_back({0, lowBytes_, XEN_HVM_MEMMAP_TYPE_RAM});
  // libxl's domain_construct_memmap for PVH: the special page region is
  // reserved, so the guest never takes the ring pages for RAM.
  static_assert((kSpecialRegionEndGfn - kSpecialRegionPages) * kPageSize >= kLowRamTop);
  map_.push_back({(kSpecialRegionEndGfn - kSpecialRegionPages) * kPageSize, kSpecialRegionPages * kPageSize,
                  XEN_HVM_MEMMAP_TYPE_RESERVED});
  if (bytes_ > lowBytes_) map_.push_back({kHighRamBase, bytes_ - lowBytes_, XEN_HVM_MEMMAP_TYPE_RAM});
}

GuestRam::~GuestRam() {
  munmap(base_, bytes_ + kSpecialPages * kPageSize);
  ::close(fd_);
}

Status GuestRam::attach(VmBackend& vm) {
  vm_ = &vm;
  SMARTVM_TRY(vm.setMemorySlot(0, 0, lowBytes_, base_));
  if (bytes_ > lowBytes_) SMARTVM_TRY(vm.setMemorySlot(1, kHighRamBase, bytes_ - lowBytes_, base_ + lowBytes_));
  return Status::ok();
}

bool GuestRam::isRam(uint64_t gpa, uint64_t len) const {
  if (len == 0 || gpa + len < gpa) return false;
  if (gpa + len <= lowBytes_) return true;
  const uint64_t high = bytes_ - lowBytes_;
  return gpa >= kHighRamBase && gpa - kHighRamBase + len <= high;
}

uint8_t* GuestRam::hostPtr(uint64_t gpa, uint64_t len) {
  if (!isRam(gpa, len)) return nullptr;
  return gpa < kHighRamBase ? base_ + gpa : base_ + lowBytes_ + (gpa - kHighRamBase);
}

Result<uint64_t> GuestRam::fdOffset(uint64_t gpa) const {
  gpa &= ~(kPageSize - 1);
  if (isRam(gpa, kPageSize)) return gpa < kHighRamBase ? gpa : lowBytes_ + (gpa - kHighRamBase);
  // Special pages (console, xenstore, shared_info, grant frames) are mapped
  // outside RAM, never at 0, so a gpa of 0 never matches an unplaced one.
  if (gpa != 0) {
    for (uint32_t i = 0; i < kSpecialPages; ++i) {
      if (specialGpa_[i].load(std::memory_order_acquire) == gpa) return bytes_ + uint64_t{i} * kPageSize;
    }
  }
  return error(EFAULT, "guest-physical address " + std::to_string(gpa) + " is neither RAM nor a special page");
}

uint8_t* GuestRam::framePtr(uint64_t gpa) {
  auto off = fdOffset(gpa);
  return off.isOk() ? base_ + *off : nullptr;
}

uint8_t* GuestRam::specialPage(uint32_t index) {
  return index < kSpecialPages ? base_ + bytes_ + index * kPageSize : nullptr;
}

Status GuestRam::mapSpecialPage(uint32_t index, uint64_t gpa) {
  if (index >= kSpecialPages || vm_ == nullptr) return error(EINVAL, "bad special page");
  if (gpa % kPageSize != 0 || gpa >= kMaxGpa) return error(EINVAL, "special page address out of range");
  if (gpa != 0 && isRam(gpa, kPageSize)) return error(EINVAL, "special page would overlap RAM");
  for (uint32_t i = 0; i < kSpecialPages; ++i) {
    // Two memslots over one frame: KVM refuses it, and the page under it would be lost.
    if (gpa != 0 && i != index && specialGpa_[i] == gpa) return error(EEXIST, "another special page is mapped there");
  }
  const uint32_t slot = kFirstSpecialSlot + index;
  const uint64_t old = specialGpa_[index].load();
  if (old != 0) SMARTVM_TRY(vm_->setMemorySlot(slot, old, 0, nullptr));
  specialGpa_[index] = 0;
  if (gpa == 0) return Status::ok();
  SMARTVM_TRY(vm_->setMemorySlot(slot, gpa, kPageSize, specialPage(index)));
  specialGpa_[index] = gpa;
  return Status::ok();
}

uint64_t hostAvailableMemory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

}  // namespace smartvm::hv
