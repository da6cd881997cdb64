#pragma once
// Writes small ELF32/ELF64 x86 images byte by byte for the builder tests.
#include <elf.h>
#include <xen/elfnote.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace smartvm::hv::test {

struct TestSegment {
  uint64_t paddr;
  std::vector<uint8_t> data;
  uint64_t memsz;
};

struct TestNote {
  std::string name;  ///< written with its NUL, as linkers do
  uint32_t type;
  std::vector<uint8_t> desc;
};

/// Byte layout of a built image, for tests that corrupt one field.
struct TestElfLayout {
  uint64_t phoff = 0;      ///< first program header
  uint64_t phentsize = 0;
  uint64_t noteOff = 0;    ///< start of the note area
  uint64_t noteSize = 0;
  uint64_t shoff = 0;      ///< section headers (0 unless notesInSection)
  unsigned notePhdr = 0;   ///< index of the PT_NOTE header (after the PT_LOADs)
};

/// Builds an ELF executable: Ehdr, Phdrs (PT_LOADs then one PT_NOTE), the
/// note area, segment data; optionally the notes as an SHT_NOTE section
/// instead of a PT_NOTE segment.
class TestElfBuilder {
 public:
  bool is64 = true;
  uint16_t machine = EM_X86_64;
  uint16_t type = ET_EXEC;
  uint64_t entry = 0xffffffff81000000ull;
  uint64_t noteAlign = 4;
  bool notesInSection = false;
  std::vector<TestSegment> segments;
  std::vector<TestNote> notes;

  static std::vector<uint8_t> le32(uint32_t v) { return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}; }
  static std::vector<uint8_t> cstr(const std::string& s) {
    std::vector<uint8_t> v(s.begin(), s.end());
    v.push_back(0);
    return v;
  }

  std::vector<uint8_t> build(TestElfLayout* layout = nullptr) const {
    std::vector<uint8_t> out(ehdrSize());
    TestElfLayout l;
    l.phentsize = phdrSize();
    l.phoff = out.size();
    const bool notePhdr = !notes.empty() && !notesInSection;
    const size_t phnum = segments.size() + (notePhdr ? 1 : 0);
    out.resize(out.size() + phnum * phdrSize());
    l.notePhdr = static_cast<unsigned>(segments.size());
    pad(out, 8);
    l.noteOff = out.size();
    appendNotes(out);
    l.noteSize = out.size() - l.noteOff;
    std::vector<uint64_t> dataOff;
    for (const TestSegment& s : segments) {
      pad(out, 16);
      dataOff.push_back(out.size());
      out.insert(out.end(), s.data.begin(), s.data.end());
    }
    for (size_t i = 0; i < segments.size(); ++i) {
      const TestSegment& s = segments[i];
      writePhdr(out, l.phoff + i * phdrSize(), PT_LOAD, dataOff[i], s.paddr, s.data.size(), s.memsz, 0x1000);
    }
    if (notePhdr) writePhdr(out, l.phoff + segments.size() * phdrSize(), PT_NOTE, l.noteOff, 0, l.noteSize, 0, noteAlign);
    if (notesInSection && !notes.empty()) l.shoff = appendSections(out, l);
    writeEhdr(out, l, phnum);
    if (layout) *layout = l;
    return out;
  }

  /// A plausible PVH kernel: two PT_LOADs (the first with bss), a GNU note
  /// and the Xen notes, entry at 0x100010.
  static TestElfBuilder pvhKernel(bool is64 = true) {
    TestElfBuilder b;
    b.is64 = is64;
    b.machine = is64 ? EM_X86_64 : EM_386;
    b.entry = is64 ? 0xffffffff81000000ull : 0xc1000000ull;
    b.segments.push_back({0x100000, pattern(0x3000, 1), 0x5000});
    b.segments.push_back({0x200000, pattern(0x100, 7), 0x100});
    b.notes.push_back({"GNU", NT_GNU_BUILD_ID, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}});
    b.notes.push_back({"Xen", XEN_ELFNOTE_GUEST_OS, cstr("linux")});
    b.notes.push_back({"Xen", XEN_ELFNOTE_XEN_VERSION, cstr("xen-3.0")});
    b.notes.push_back({"Xen", XEN_ELFNOTE_PHYS32_ENTRY, le32(0x100010)});
    return b;
  }

  static std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13 + (i >> 8));
    return v;
  }

  template <class T>
  static void poke(std::vector<uint8_t>& file, uint64_t off, T v) {
    std::memcpy(file.data() + off, &v, sizeof v);
  }

 private:
  size_t ehdrSize() const { return is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr); }
  size_t phdrSize() const { return is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr); }
  size_t shdrSize() const { return is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr); }

  static void pad(std::vector<uint8_t>& out, size_t align) {
    while (out.size() % align) out.push_back(0);
  }

  void appendNotes(std::vector<uint8_t>& out) const {
    const size_t a = noteAlign == 8 ? 8 : 4;
    for (const TestNote& n : notes) {
      Elf64_Nhdr h{static_cast<uint32_t>(n.name.size() + 1), static_cast<uint32_t>(n.desc.size()), n.type};
      const size_t start = out.size();
      out.resize(start + sizeof h);
      std::memcpy(out.data() + start, &h, sizeof h);
      out.insert(out.end(), n.name.begin(), n.name.end());
      out.push_back(0);
      pad(out, a);
      out.insert(out.end(), n.desc.begin(), n.desc.end());
      pad(out, a);
    }
  }

  void writePhdr(std::vector<uint8_t>& out, uint64_t at, uint32_t ptype, uint64_t off, uint64_t paddr, uint64_t filesz,
                 uint64_t memsz, uint64_t align) const {
    if (is64) {
      Elf64_Phdr p{ptype, PF_R | PF_X, off, paddr | 0xffffffff80000000ull, paddr, filesz, memsz, align};
      poke(out, at, p);
    } else {
      Elf32_Phdr p{ptype, uint32_t(off), uint32_t(paddr | 0xc0000000u), uint32_t(paddr), uint32_t(filesz),
                   uint32_t(memsz), PF_R | PF_X, uint32_t(align)};
      poke(out, at, p);
    }
  }

  uint64_t appendSections(std::vector<uint8_t>& out, const TestElfLayout& l) const {
    pad(out, 8);
    const uint64_t shoff = out.size();
    out.resize(out.size() + 2 * shdrSize());  // [0] null, [1] .notes
    if (is64) {
      Elf64_Shdr s{};
      s.sh_type = SHT_NOTE;
      s.sh_offset = l.noteOff;
      s.sh_size = l.noteSize;
      s.sh_addralign = noteAlign;
      poke(out, shoff + shdrSize(), s);
    } else {
      Elf32_Shdr s{};
      s.sh_type = SHT_NOTE;
      s.sh_offset = uint32_t(l.noteOff);
      s.sh_size = uint32_t(l.noteSize);
      s.sh_addralign = uint32_t(noteAlign);
      poke(out, shoff + shdrSize(), s);
    }
    return shoff;
  }

  template <class Ehdr>
  void fillEhdr(Ehdr& e, const TestElfLayout& l, size_t phnum) const {
    std::memcpy(e.e_ident, ELFMAG, SELFMAG);
    e.e_ident[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
    e.e_ident[EI_DATA] = ELFDATA2LSB;
    e.e_ident[EI_VERSION] = EV_CURRENT;
    e.e_type = type;
    e.e_machine = machine;
    e.e_version = EV_CURRENT;
    e.e_entry = static_cast<decltype(e.e_entry)>(entry);
    e.e_phoff = static_cast<decltype(e.e_phoff)>(l.phoff);
    e.e_shoff = static_cast<decltype(e.e_shoff)>(l.shoff);
    e.e_ehsize = sizeof(Ehdr);
    e.e_phentsize = static_cast<uint16_t>(phdrSize());
    e.e_phnum = static_cast<uint16_t>(phnum);
    e.e_shentsize = static_cast<uint16_t>(shdrSize());
    e.e_shnum = l.shoff ? 2 : 0;
  }

  void writeEhdr(std::vector<uint8_t>& out, const TestElfLayout& l, size_t phnum) const {
    if (is64) {
      Elf64_Ehdr e{};
      fillEhdr(e, l, phnum);
      poke(out, 0, e);
    } else {
      Elf32_Ehdr e{};
      fillEhdr(e, l, phnum);
      poke(out, 0, e);
    }
  }
};

}  // namespace smartvm::hv::test
