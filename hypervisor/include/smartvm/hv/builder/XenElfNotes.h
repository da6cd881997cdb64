#pragma once
// The Xen ELF notes ("Xen" owner, xen/elfnote.h) a domain builder cares about.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "smartvm/Status.h"

namespace smartvm::hv {

/// Xen notes found in a kernel image. Strings are sanitised for logging
/// (printable ASCII only, at most kMaxNoteString characters).
struct XenElfNotes {
  static constexpr size_t kMaxNoteString = 256;

  /// XEN_ELFNOTE_PHYS32_ENTRY: 32-bit physical PVH entry point.
  std::optional<uint32_t> phys32Entry;
  /// XEN_ELFNOTE_GUEST_OS, e.g. "linux".
  std::string guestOs;
  /// XEN_ELFNOTE_XEN_VERSION, e.g. "xen-3.0".
  std::string xenVersion;
};

/// Parses a note area (the bytes of a PT_NOTE segment or SHT_NOTE section)
/// and records the Xen notes in `out`; other owners' notes are skipped.
/// `align` is the segment/section alignment: 8 selects 8-byte note padding,
/// anything else the usual 4. Fails with ENOEXEC on a malformed note (sizes
/// running past the area, a Xen note with a descriptor of the wrong size).
[[nodiscard]] Status parseXenElfNotes(std::span<const uint8_t> area, uint64_t align,
                                      XenElfNotes& out);

}  // namespace smartvm::hv
