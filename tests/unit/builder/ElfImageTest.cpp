// ElfImage::parse and the Xen note parser on valid and hostile images.
#include "smartvm/hv/builder/ElfImage.h"

#include <gtest/gtest.h>

#include <limits>

#include "TestElfBuilder.h"

namespace smartvm::hv {
namespace {

using test::TestElfBuilder;
using test::TestElfLayout;

void expectError(const Result<ElfImage>& r, int code, const std::string& fragment) {
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

Result<ElfImage> parse(const std::vector<uint8_t>& f) { return ElfImage::parse(f); }

TEST(ElfImage, ParsesElf64SegmentsAndNotes) {
  auto b = TestElfBuilder::pvhKernel();
  auto file = b.build();
  auto r = parse(file);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(r->is64());
  EXPECT_EQ(r->machine(), EM_X86_64);
  EXPECT_EQ(r->entry(), 0xffffffff81000000ull);
  ASSERT_EQ(r->loadSegments().size(), 2u);
  EXPECT_EQ(r->loadSegments()[0].paddr, 0x100000u);
  EXPECT_EQ(r->loadSegments()[0].memsz, 0x5000u);
  EXPECT_TRUE(std::ranges::equal(r->loadSegments()[0].data, b.segments[0].data));
  EXPECT_EQ(r->loadSegments()[1].index, 1u);
  ASSERT_TRUE(r->xenNotes().phys32Entry.has_value());
  EXPECT_EQ(*r->xenNotes().phys32Entry, 0x100010u);
  EXPECT_EQ(r->xenNotes().guestOs, "linux");
  EXPECT_EQ(r->xenNotes().xenVersion, "xen-3.0");
}

TEST(ElfImage, ParsesElf32) {
  auto r = parse(TestElfBuilder::pvhKernel(false).build());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_FALSE(r->is64());
  EXPECT_EQ(r->machine(), EM_386);
  EXPECT_EQ(r->loadSegments().size(), 2u);
  EXPECT_EQ(*r->xenNotes().phys32Entry, 0x100010u);
}

TEST(ElfImage, FindsNotesInSectionsWithoutPtNote) {
  for (bool is64 : {true, false}) {
    auto b = TestElfBuilder::pvhKernel(is64);
    b.notesInSection = true;
    auto r = parse(b.build());
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(*r->xenNotes().phys32Entry, 0x100010u);
    EXPECT_EQ(r->xenNotes().guestOs, "linux");
  }
}

TEST(ElfImage, HonoursEightByteNoteAlignment) {
  auto b = TestElfBuilder::pvhKernel();
  b.noteAlign = 8;
  b.notes.insert(b.notes.begin(), {"Xen", XEN_ELFNOTE_GUEST_OS, {'a', 'b', 'c', 'd', 'e', 0}});
  auto r = parse(b.build());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(*r->xenNotes().phys32Entry, 0x100010u);
  EXPECT_EQ(r->xenNotes().guestOs, "linux");
}

TEST(ElfImage, OddNoteAlignmentValuesMeanFourBytes) {
  for (uint64_t align : {0ull, 1ull, 2ull, 16ull, 0x8000000000000000ull}) {
    TestElfLayout l;
    auto f = TestElfBuilder::pvhKernel().build(&l);
    TestElfBuilder::poke<uint64_t>(f, l.phoff + l.notePhdr * l.phentsize + offsetof(Elf64_Phdr, p_align), align);
    auto r = parse(f);
    ASSERT_TRUE(r.isOk()) << align << ": " << r.status().message();
    EXPECT_EQ(*r->xenNotes().phys32Entry, 0x100010u);
  }
}

TEST(ElfImage, MisalignedNoteAreaFailsCleanly) {
  TestElfLayout l;
  auto f = TestElfBuilder::pvhKernel().build(&l);
  const uint64_t ph = l.phoff + l.notePhdr * l.phentsize;
  for (uint64_t shift : {1, 2, 3, 5}) {
    auto g = f;
    TestElfBuilder::poke<uint64_t>(g, ph + offsetof(Elf64_Phdr, p_offset), l.noteOff + shift);
    auto r = parse(g);
    if (!r.isOk()) {
      EXPECT_EQ(r.status().code(), ENOEXEC);
    }
  }
}

TEST(ElfImage, AcceptsEightBytePhys32Entry) {
  auto b = TestElfBuilder::pvhKernel();
  b.notes.back().desc = {0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0};
  auto r = parse(b.build());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(*r->xenNotes().phys32Entry, 0x100010u);
}

TEST(ElfImage, RejectsPhys32EntryAbove4G) {
  auto b = TestElfBuilder::pvhKernel();
  b.notes.back().desc = {0x10, 0x00, 0x10, 0x00, 1, 0, 0, 0};
  expectError(parse(b.build()), ENOEXEC, "not a 32-bit address");
}

TEST(ElfImage, RejectsPhys32EntryWithOddSize) {
  auto b = TestElfBuilder::pvhKernel();
  b.notes.back().desc = {0x10, 0x00, 0x10};
  expectError(parse(b.build()), ENOEXEC, "3-byte descriptor");
}

TEST(ElfImage, SanitisesNoteStrings) {
  auto b = TestElfBuilder::pvhKernel();
  b.notes[1].desc = {'l', '\n', 0x80, 'x'};  // no NUL, control and high bytes
  std::vector<uint8_t> longName(1000, 'a');
  b.notes[2].desc = longName;
  auto r = parse(b.build());
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->xenNotes().guestOs, "l??x");
  EXPECT_EQ(r->xenNotes().xenVersion.size(), XenElfNotes::kMaxNoteString);
}

TEST(ElfImage, MissingXenNotesIsNotAParseError) {
  auto b = TestElfBuilder::pvhKernel();
  b.notes.clear();
  auto r = parse(b.build());
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE(r->xenNotes().phys32Entry.has_value());
}

TEST(ElfImage, SkipsEmptyLoadSegments) {
  auto b = TestElfBuilder::pvhKernel();
  b.segments.push_back({0x300000, {}, 0});
  auto r = parse(b.build());
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->loadSegments().size(), 2u);
}

TEST(ElfImage, RejectsNonElf) {
  expectError(parse({}), ENOEXEC, "not an ELF file");
  expectError(parse({0x7f, 'E', 'L'}), ENOEXEC, "not an ELF file");
  std::vector<uint8_t> junk(200, 'x');
  expectError(parse(junk), ENOEXEC, "not an ELF file");
}

TEST(ElfImage, RejectsTruncatedHeader) {
  auto file = TestElfBuilder::pvhKernel().build();
  file.resize(40);
  expectError(parse(file), ENOEXEC, "ELF header is truncated");
  auto file32 = TestElfBuilder::pvhKernel(false).build();
  file32.resize(sizeof(Elf32_Ehdr) - 1);
  expectError(parse(file32), ENOEXEC, "ELF header is truncated");
}

TEST(ElfImage, RejectsWrongClassEndianTypeMachine) {
  auto file = TestElfBuilder::pvhKernel().build();
  auto f = file;
  f[EI_CLASS] = 3;
  expectError(parse(f), ENOEXEC, "not an x86 ELF executable");
  f = file;
  f[EI_DATA] = ELFDATA2MSB;
  expectError(parse(f), ENOEXEC, "not an x86 ELF executable");
  auto b = TestElfBuilder::pvhKernel();
  b.machine = EM_ARM;
  expectError(parse(b.build()), ENOEXEC, "not an x86 ELF executable");
  b = TestElfBuilder::pvhKernel();
  b.type = ET_DYN;
  expectError(parse(b.build()), ENOEXEC, "not an x86 ELF executable");
}

TEST(ElfImage, RejectsProgramHeadersPastEof) {
  TestElfLayout l;
  auto file = TestElfBuilder::pvhKernel().build(&l);
  auto f = file;
  TestElfBuilder::poke<uint64_t>(f, offsetof(Elf64_Ehdr, e_phoff), f.size() - 10);
  expectError(parse(f), ENOEXEC, "program headers lie outside the file");
  f = file;
  TestElfBuilder::poke<uint64_t>(f, offsetof(Elf64_Ehdr, e_phoff), std::numeric_limits<uint64_t>::max() - 8);
  expectError(parse(f), ENOEXEC, "program headers lie outside the file");
  f = file;
  f.resize(l.phoff + l.phentsize + 3);  // cut inside the second header
  expectError(parse(f), ENOEXEC, "program headers lie outside the file");
}

TEST(ElfImage, RejectsZeroAndHugePhnum) {
  auto file = TestElfBuilder::pvhKernel().build();
  auto f = file;
  TestElfBuilder::poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_phnum), 0);
  expectError(parse(f), ENOEXEC, "no program headers");
  f = file;
  TestElfBuilder::poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
  expectError(parse(f), ENOEXEC, "extended program header numbering");
  f = file;
  TestElfBuilder::poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_phnum), 0xfffe);
  expectError(parse(f), ENOEXEC, "program headers lie outside the file");
  f = file;
  TestElfBuilder::poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_phentsize), 0xffff);
  expectError(parse(f), ENOEXEC, "program headers lie outside the file");
  f = file;
  TestElfBuilder::poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_phentsize), 8);
  expectError(parse(f), ENOEXEC, "e_phentsize 8 is too small");
}

TEST(ElfImage, RejectsFileszAboveMemsz) {
  auto b = TestElfBuilder::pvhKernel();
  b.segments[1].memsz = 0x80;
  expectError(parse(b.build()), ENOEXEC, "ELF segment 1: p_filesz 0x100 exceeds p_memsz 0x80");
}

TEST(ElfImage, RejectsSegmentDataOutsideFile) {
  TestElfLayout l;
  auto file = TestElfBuilder::pvhKernel().build(&l);
  const uint64_t ph0 = l.phoff;
  auto f = file;
  TestElfBuilder::poke<uint64_t>(f, ph0 + offsetof(Elf64_Phdr, p_offset), std::numeric_limits<uint64_t>::max() - 16);
  expectError(parse(f), ENOEXEC, "ELF segment 0: file data");
  f = file;
  TestElfBuilder::poke<uint64_t>(f, ph0 + offsetof(Elf64_Phdr, p_offset), f.size() - 0x10);
  expectError(parse(f), ENOEXEC, "lies outside the file");
  f = file;
  TestElfBuilder::poke<uint64_t>(f, ph0 + offsetof(Elf64_Phdr, p_filesz), std::numeric_limits<uint64_t>::max());
  TestElfBuilder::poke<uint64_t>(f, ph0 + offsetof(Elf64_Phdr, p_memsz), std::numeric_limits<uint64_t>::max());
  expectError(parse(f), ENOEXEC, "lies outside the file");
}

TEST(ElfImage, RejectsSegmentAddressOverflow) {
  auto b = TestElfBuilder::pvhKernel();
  b.segments[0].paddr = 0xfffffffffffff000ull;
  expectError(parse(b.build()), ENOEXEC, "overflows");
}

TEST(ElfImage, Elf32SegmentFieldsAreChecked) {
  TestElfLayout l;
  auto f = TestElfBuilder::pvhKernel(false).build(&l);
  TestElfBuilder::poke<uint32_t>(f, l.phoff + offsetof(Elf32_Phdr, p_offset), 0xfffffff0u);
  expectError(parse(f), ENOEXEC, "lies outside the file");
}

TEST(ElfImage, RejectsImageWithoutLoadSegments) {
  auto b = TestElfBuilder::pvhKernel();
  b.segments.clear();
  expectError(parse(b.build()), ENOEXEC, "no loadable segments");
}

TEST(ElfImage, RejectsNoteSegmentOutsideFile) {
  TestElfLayout l;
  auto f = TestElfBuilder::pvhKernel().build(&l);
  const uint64_t ph = l.phoff + l.notePhdr * l.phentsize;
  TestElfBuilder::poke<uint64_t>(f, ph + offsetof(Elf64_Phdr, p_filesz), f.size());
  expectError(parse(f), ENOEXEC, "note segment 2 lies outside the file");
}

TEST(ElfImage, RejectsNoteWithBadNameSize) {
  TestElfLayout l;
  auto file = TestElfBuilder::pvhKernel().build(&l);
  for (uint32_t bad : {0xffffffffu, 0xfffffff0u, static_cast<uint32_t>(l.noteSize)}) {
    auto f = file;
    TestElfBuilder::poke<uint32_t>(f, l.noteOff, bad);  // first note's n_namesz
    expectError(parse(f), ENOEXEC, "name size");
  }
}

TEST(ElfImage, RejectsNoteWithBadDescSize) {
  TestElfLayout l;
  auto file = TestElfBuilder::pvhKernel().build(&l);
  for (uint32_t bad : {0xffffffffu, 0xfffffffdu, static_cast<uint32_t>(l.noteSize)}) {
    auto f = file;
    TestElfBuilder::poke<uint32_t>(f, l.noteOff + 4, bad);  // first note's n_descsz
    expectError(parse(f), ENOEXEC, "descriptor size");
  }
}

TEST(ElfImage, RejectsNoteRunningPastSegmentEnd) {
  TestElfLayout l;
  auto f = TestElfBuilder::pvhKernel().build(&l);
  // Shrink the PT_NOTE so the last (PHYS32) note's descriptor is cut off.
  const uint64_t ph = l.phoff + l.notePhdr * l.phentsize;
  TestElfBuilder::poke<uint64_t>(f, ph + offsetof(Elf64_Phdr, p_filesz), l.noteSize - 2);
  expectError(parse(f), ENOEXEC, "descriptor size");
}

TEST(ElfImage, IgnoresShortTrailingPadding) {
  TestElfLayout l;
  auto f = TestElfBuilder::pvhKernel().build(&l);
  const uint64_t ph = l.phoff + l.notePhdr * l.phentsize;
  TestElfBuilder::poke<uint64_t>(f, ph + offsetof(Elf64_Phdr, p_filesz), l.noteSize + 8);
  auto r = parse(f);
  ASSERT_TRUE(r.isOk()) << r.status().message();
}

TEST(ElfImage, RejectsSectionHeadersOutsideFile) {
  auto b = TestElfBuilder::pvhKernel();
  b.notesInSection = true;
  TestElfLayout l;
  auto file = b.build(&l);
  auto f = file;
  TestElfBuilder::poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_shnum), 0xfff0);
  expectError(parse(f), ENOEXEC, "section headers lie outside the file");
  f = file;
  TestElfBuilder::poke<uint64_t>(f, l.shoff + sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_offset),
                                 std::numeric_limits<uint64_t>::max());
  expectError(parse(f), ENOEXEC, "note section 1 lies outside the file");
  f = file;
  TestElfBuilder::poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_shentsize), 4);
  expectError(parse(f), ENOEXEC, "e_shentsize 4 is too small");
}

TEST(XenElfNotes, ParsesRawArea) {
  auto b = TestElfBuilder::pvhKernel();
  TestElfLayout l;
  auto f = b.build(&l);
  XenElfNotes notes;
  ASSERT_TRUE(parseXenElfNotes(std::span(f).subspan(l.noteOff, l.noteSize), 4, notes).isOk());
  EXPECT_EQ(notes.phys32Entry, 0x100010u);
  XenElfNotes empty;
  EXPECT_TRUE(parseXenElfNotes({}, 4, empty).isOk());
  EXPECT_FALSE(empty.phys32Entry.has_value());
}

TEST(XenElfNotes, IgnoresOtherOwnersWithXenTypes) {
  TestElfBuilder b = TestElfBuilder::pvhKernel();
  b.notes = {{"Xenon", XEN_ELFNOTE_PHYS32_ENTRY, TestElfBuilder::le32(0x1234)},
             {"GNU", XEN_ELFNOTE_PHYS32_ENTRY, {1}}};
  auto r = parse(b.build());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_FALSE(r->xenNotes().phys32Entry.has_value());
}

}  // namespace
}  // namespace smartvm::hv
