#include "smartvm/hv/builder/ElfImage.h"

#include <elf.h>
#include <fmt/format.h>

#include <cstring>

namespace smartvm::hv {
namespace {

struct Elf32Types {
  using Ehdr = Elf32_Ehdr;
  using Phdr = Elf32_Phdr;
  using Shdr = Elf32_Shdr;
};
struct Elf64Types {
  using Ehdr = Elf64_Ehdr;
  using Phdr = Elf64_Phdr;
  using Shdr = Elf64_Shdr;
};

/// True when [off, off + len) lies inside a file of `fileSize` bytes; no overflow.
bool inFile(uint64_t fileSize, uint64_t off, uint64_t len) {
  return off <= fileSize && len <= fileSize - off;
}

/// Copies a header out of the file; the caller has checked the range. memcpy
/// because the file's bytes carry no alignment guarantee.
template <typename T>
T readAt(std::span<const uint8_t> file, uint64_t off) {
  T t;
  std::memcpy(&t, file.data() + off, sizeof t);
  return t;
}

Status notExecutable(const std::string& why) {
  return error(ENOEXEC, "not an x86 ELF executable: " + why);
}

Status checkIdent(std::span<const uint8_t> file) {
  if (file.size() < EI_NIDENT || std::memcmp(file.data(), ELFMAG, SELFMAG) != 0) {
    return error(ENOEXEC, "not an ELF file");
  }
  if (file[EI_CLASS] != ELFCLASS32 && file[EI_CLASS] != ELFCLASS64) {
    return notExecutable(fmt::format("unknown ELF class {}", file[EI_CLASS]));
  }
  if (file[EI_DATA] != ELFDATA2LSB) return notExecutable("not little-endian");
  return Status::ok();
}

template <typename Types>
Status checkHeader(std::span<const uint8_t> file, const typename Types::Ehdr& eh) {
  if (eh.e_type != ET_EXEC) return notExecutable(fmt::format("e_type {} is not ET_EXEC", eh.e_type));
  if (eh.e_machine != EM_386 && eh.e_machine != EM_X86_64) {
    return notExecutable(fmt::format("e_machine {} is not EM_386 or EM_X86_64", eh.e_machine));
  }
  if (eh.e_phnum == 0) return error(ENOEXEC, "ELF has no program headers");
  if (eh.e_phnum == PN_XNUM) return error(ENOEXEC, "ELF extended program header numbering is not supported");
  if (eh.e_phentsize < sizeof(typename Types::Phdr)) {
    return error(ENOEXEC, fmt::format("ELF e_phentsize {} is too small", eh.e_phentsize));
  }
  // phnum < 2^16 and phentsize < 2^16: the product cannot overflow.
  if (!inFile(file.size(), eh.e_phoff, uint64_t{eh.e_phnum} * eh.e_phentsize)) {
    return error(ENOEXEC, "ELF program headers lie outside the file");
  }
  return Status::ok();
}

template <typename Phdr>
Result<ElfSegment> loadSegment(std::span<const uint8_t> file, const Phdr& ph, unsigned index) {
  if (ph.p_filesz > ph.p_memsz) {
    return error(ENOEXEC, fmt::format("ELF segment {}: p_filesz {:#x} exceeds p_memsz {:#x}", index,
                                      uint64_t{ph.p_filesz}, uint64_t{ph.p_memsz}));
  }
  if (!inFile(file.size(), ph.p_offset, ph.p_filesz)) {
    return error(ENOEXEC, fmt::format("ELF segment {}: file data at offset {:#x} size {:#x} lies outside the file",
                                      index, uint64_t{ph.p_offset}, uint64_t{ph.p_filesz}));
  }
  if (uint64_t{ph.p_paddr} + ph.p_memsz < ph.p_paddr) {
    return error(ENOEXEC, fmt::format("ELF segment {}: address {:#x} + size {:#x} overflows", index,
                                      uint64_t{ph.p_paddr}, uint64_t{ph.p_memsz}));
  }
  return ElfSegment{index, ph.p_paddr, ph.p_memsz, file.subspan(ph.p_offset, ph.p_filesz)};
}

template <typename Types>
Status parseSectionNotes(std::span<const uint8_t> file, const typename Types::Ehdr& eh, XenElfNotes& notes) {
  using Shdr = typename Types::Shdr;
  if (eh.e_shoff == 0 || eh.e_shnum == 0) return Status::ok();
  if (eh.e_shentsize < sizeof(Shdr)) {
    return error(ENOEXEC, fmt::format("ELF e_shentsize {} is too small", eh.e_shentsize));
  }
  if (!inFile(file.size(), eh.e_shoff, uint64_t{eh.e_shnum} * eh.e_shentsize)) {
    return error(ENOEXEC, "ELF section headers lie outside the file");
  }
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    auto sh = readAt<Shdr>(file, eh.e_shoff + uint64_t{i} * eh.e_shentsize);
    if (sh.sh_type != SHT_NOTE) continue;
    if (!inFile(file.size(), sh.sh_offset, sh.sh_size)) {
      return error(ENOEXEC, fmt::format("ELF note section {} lies outside the file", i));
    }
    SMARTVM_TRY(parseXenElfNotes(file.subspan(sh.sh_offset, sh.sh_size), sh.sh_addralign, notes));
  }
  return Status::ok();
}

template <typename Phdr>
Status parseNoteSegment(std::span<const uint8_t> file, const Phdr& ph, unsigned index, XenElfNotes& notes) {
  if (!inFile(file.size(), ph.p_offset, ph.p_filesz)) {
    return error(ENOEXEC, fmt::format("ELF note segment {} lies outside the file", index));
  }
  return parseXenElfNotes(file.subspan(ph.p_offset, ph.p_filesz), ph.p_align, notes);
}

}  // namespace

template <typename Types>
Result<ElfImage> ElfImage::parseAs(std::span<const uint8_t> file) {
  using Phdr = typename Types::Phdr;
  if (file.size() < sizeof(typename Types::Ehdr)) return error(ENOEXEC, "ELF header is truncated");
  auto eh = readAt<typename Types::Ehdr>(file, 0);
  SMARTVM_TRY(checkHeader<Types>(file, eh));

  ElfImage img;
  img.is64_ = sizeof(Phdr) == sizeof(Elf64_Phdr);
  img.machine_ = eh.e_machine;
  img.entry_ = eh.e_entry;
  bool sawNoteSegment = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto ph = readAt<Phdr>(file, eh.e_phoff + uint64_t{i} * eh.e_phentsize);
    if (ph.p_type == PT_LOAD) {
      SMARTVM_ASSIGN_OR_RETURN(ElfSegment seg, loadSegment(file, ph, i));
      if (seg.memsz != 0) img.segments_.push_back(seg);
    } else if (ph.p_type == PT_NOTE) {
      sawNoteSegment = true;
      SMARTVM_TRY(parseNoteSegment(file, ph, i, img.notes_));
    }
  }
  if (img.segments_.empty()) return error(ENOEXEC, "ELF has no loadable segments");
  if (!sawNoteSegment) SMARTVM_TRY(parseSectionNotes<Types>(file, eh, img.notes_));
  return img;
}

Result<ElfImage> ElfImage::parse(std::span<const uint8_t> file) {
  SMARTVM_TRY(checkIdent(file));
  if (file[EI_CLASS] == ELFCLASS64) return parseAs<Elf64Types>(file);
  return parseAs<Elf32Types>(file);
}

}  // namespace smartvm::hv
