// Reading struct hvm_start_info, which the hypervisor passes in %ebx.
#pragma once
#include <stdint.h>
#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "lib/Range.h"
#include "lib/String.h"

namespace pvh {

class StartInfo {
 public:
  explicit StartInfo(uint64_t paddr) : info_(reinterpret_cast<const hvm_start_info*>(paddr)) {}

  /// True when the magic is XEN_HVM_START_MAGIC_VALUE.
  bool valid() const;
  uint32_t version() const { return info_->version; }
  uint32_t magic() const { return info_->magic; }

  /// The command line, or an empty string when there is none.
  Str cmdline() const;

  /// The memory map (version 1 and later); 0 entries when absent.
  uint32_t memmapEntries() const;
  const hvm_memmap_table_entry* memmap() const;

  /// Every range the boot data occupies: this struct, the command line, the
  /// memory map, the module list, the modules and their command lines.
  /// Returns how many ranges were written to out (at most max).
  size_t bootDataRanges(Range* out, size_t max) const;

 private:
  const hvm_start_info* info_;
};

}  // namespace pvh
