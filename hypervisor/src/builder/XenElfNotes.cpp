#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/builder/XenElfNotes.h"

#include <elf.h>
#include <fmt/format.h>
#include <xen/elfnote.h>

#include <cstring>
#include <string_view>

namespace smartvm::hv {
namespace {

struct RawNote {
  uint32_t type;
  std::span<const uint8_t> name;
  std::span<const uint8_t> desc;
};

uint64_t alignUp(uint64_t v, uint64_t align) { return (v + align - 1) & ~(align - 1); }

bool isXenOwner(std::span<const uint8_t> name) {
  std::string_view s(reinterpret_cast<const char*>(name.data()), name.size());
  return s == std::string_view("Xen\0", 4) || s == "Xen";
}

std::string noteString(std::span<const uint8_t> desc) {
  std::string out;
  for (uint8_t c : desc) {
    if (c == 0 || out.size() == XenElfNotes::kMaxNoteString) break;
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

Status parsePhys32Entry(std::span<const uint8_t> desc, XenElfNotes& out) {
  // Linux emits a 4-byte .long; libelf accepts any of 1/2/4/8 bytes, so do we.
  size_t n = desc.size();
  if (n != 1 && n != 2 && n != 4 && n != 8) {
    return error(ENOEXEC, fmt::format("XEN_ELFNOTE_PHYS32_ENTRY has a {}-byte descriptor", n));
  }
  uint64_t value = 0;
  std::memcpy(&value, desc.data(), n);  // little-endian host and image
  if (value > UINT32_MAX) {
    return error(ENOEXEC, fmt::format("XEN_ELFNOTE_PHYS32_ENTRY {:#x} is not a 32-bit address", value));
  }
  out.phys32Entry = static_cast<uint32_t>(value);
  return Status::ok();
}

Status recordXenNote(const RawNote& note, XenElfNotes& out) {
  switch (note.type) {
    case XEN_ELFNOTE_PHYS32_ENTRY: return parsePhys32Entry(note.desc, out);
    case XEN_ELFNOTE_GUEST_OS: out.guestOs = noteString(note.desc); break;
    case XEN_ELFNOTE_XEN_VERSION: out.xenVersion = noteString(note.desc); break;
    default: break;
  }
  return Status::ok();
}

}  // namespace

Status parseXenElfNotes(std::span<const uint8_t> area, uint64_t align, XenElfNotes& out) {
  const uint64_t pad = align == 8 ? 8 : 4;
  const uint64_t size = area.size();
  uint64_t off = 0;
  // Trailing bytes too short for a note header are padding, as readelf treats them.
  while (off < size && size - off >= sizeof(Elf64_Nhdr)) {
    Elf64_Nhdr h;
    std::memcpy(&h, area.data() + off, sizeof h);
    const uint64_t nameOff = off + sizeof h;
    if (h.n_namesz > size - nameOff) {
      return error(ENOEXEC, fmt::format("ELF note at offset {:#x}: name size {:#x} runs past the note area",
                                        off, h.n_namesz));
    }
    const uint64_t descOff = alignUp(nameOff + h.n_namesz, pad);
    if (descOff > size || h.n_descsz > size - descOff) {
      return error(ENOEXEC, fmt::format("ELF note at offset {:#x}: descriptor size {:#x} runs past the note area",
                                        off, h.n_descsz));
    }
    RawNote note{h.n_type, area.subspan(nameOff, h.n_namesz), area.subspan(descOff, h.n_descsz)};
    if (isXenOwner(note.name)) SMARTVM_TRY(recordXenNote(note, out));
    off = alignUp(descOff + h.n_descsz, pad);
  }
  return Status::ok();
}

}  // namespace smartvm::hv
