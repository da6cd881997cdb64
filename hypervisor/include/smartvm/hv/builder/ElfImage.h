#pragma once
// A parsed, validated x86 ELF executable: loadable segments and Xen notes.
#include <cstdint>
#include <span>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/hv/builder/XenElfNotes.h"

namespace smartvm::hv {

/// One PT_LOAD segment. `data` (p_filesz bytes) points into the file passed
/// to ElfImage::parse; the rest up to `memsz` is zero-filled when loaded.
struct ElfSegment {
  unsigned index;  ///< program header index, for messages
  uint64_t paddr;  ///< p_paddr: guest-physical load address
  uint64_t memsz;  ///< p_memsz, never 0 and never less than data.size()
  std::span<const uint8_t> data;
};

/// An ELF32 or ELF64 little-endian x86 (EM_386 / EM_X86_64) executable.
/// Parsing treats the file as hostile: every offset and size is checked
/// against the file before use. The image borrows the file's bytes, so the
/// file must outlive it.
class ElfImage {
 public:
  /// Parses and validates `file`. ENOEXEC with "not an ELF file", "not an x86
  /// ELF executable" or a description of the malformed part on failure.
  [[nodiscard]] static Result<ElfImage> parse(std::span<const uint8_t> file);

  /// True for ELFCLASS64.
  bool is64() const { return is64_; }
  /// e_machine (EM_386 or EM_X86_64).
  uint16_t machine() const { return machine_; }
  /// e_entry (a virtual address for most kernels; PVH uses the Xen note).
  uint64_t entry() const { return entry_; }
  /// PT_LOAD segments with a non-zero p_memsz, in program header order.
  const std::vector<ElfSegment>& loadSegments() const { return segments_; }
  /// Xen notes from the PT_NOTE segments, or from the SHT_NOTE sections when
  /// the image has no PT_NOTE segment.
  const XenElfNotes& xenNotes() const { return notes_; }

 private:
  template <typename Types>
  static Result<ElfImage> parseAs(std::span<const uint8_t> file);

  bool is64_ = false;
  uint16_t machine_ = 0;
  uint64_t entry_ = 0;
  std::vector<ElfSegment> segments_;
  XenElfNotes notes_;
};

}  // namespace smartvm::hv
