#include "pvh/StartInfo.h"

namespace pvh {
namespace {

constexpr size_t kMaxCmdline = 4096;

template <typename T>
const T* at(uint64_t paddr) {
  return reinterpret_cast<const T*>(paddr);
}

class RangeList {
 public:
  RangeList(Range* out, size_t max) : out_(out), max_(max) {}
  void add(uint64_t start, uint64_t size) {
    if (start != 0 && size != 0 && count_ < max_) out_[count_++] = Range{start, start + size};
  }
  void addString(uint64_t paddr) {
    if (paddr != 0) add(paddr, strLengthMax(at<char>(paddr), kMaxCmdline) + 1);
  }
  size_t count() const { return count_; }

 private:
  Range* out_;
  size_t max_;
  size_t count_ = 0;
};

}  // namespace

bool StartInfo::valid() const { return info_->magic == XEN_HVM_START_MAGIC_VALUE; }

Str StartInfo::cmdline() const {
  if (info_->cmdline_paddr == 0) return Str("", 0);
  const char* text = at<char>(info_->cmdline_paddr);
  return Str(text, strLengthMax(text, kMaxCmdline));
}

uint32_t StartInfo::memmapEntries() const {
  return info_->version >= 1 && info_->memmap_paddr != 0 ? info_->memmap_entries : 0;
}

const hvm_memmap_table_entry* StartInfo::memmap() const {
  return memmapEntries() != 0 ? at<hvm_memmap_table_entry>(info_->memmap_paddr) : nullptr;
}

size_t StartInfo::bootDataRanges(Range* out, size_t max) const {
  RangeList list(out, max);
  list.add(reinterpret_cast<uintptr_t>(info_), sizeof(*info_));
  list.addString(info_->cmdline_paddr);
  list.add(info_->memmap_paddr, uint64_t{memmapEntries()} * sizeof(hvm_memmap_table_entry));
  list.add(info_->modlist_paddr, uint64_t{info_->nr_modules} * sizeof(hvm_modlist_entry));
  const auto* modules = at<hvm_modlist_entry>(info_->modlist_paddr);
  for (uint32_t i = 0; modules != nullptr && i < info_->nr_modules; ++i) {
    list.add(modules[i].paddr, modules[i].size);
    list.addString(modules[i].cmdline_paddr);
  }
  return list.count();
}

}  // namespace pvh
