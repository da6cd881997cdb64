// Random mutations of valid kernels: buildPvh must fail cleanly or succeed,
// never crash or read out of bounds (run under the asan preset as well).
#include <gtest/gtest.h>

#include <random>

#include "FakePhysMemory.h"
#include "TestElfBuilder.h"
#include "smartvm/hv/builder/ElfImage.h"
#include "smartvm/hv/builder/PvhBuilder.h"

namespace smartvm::hv {
namespace {

using test::FakePhysMemory;
using test::TestElfBuilder;

/// Overwrites a few bytes (mostly in the headers and notes, where the
/// parser's decisions are), sometimes with boundary values, sometimes truncates.
void mutate(std::vector<uint8_t>& f, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> count(1, 8);
  const int n = count(rng);
  for (int i = 0; i < n; ++i) {
    const size_t hot = std::min<size_t>(f.size(), 512);
    const size_t pos = (rng() % 4 != 0) ? rng() % hot : rng() % f.size();
    switch (rng() % 4) {
      case 0: f[pos] = static_cast<uint8_t>(rng()); break;
      case 1: f[pos] = 0xff; break;
      case 2: f[pos] = 0; break;
      default: f[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
    }
  }
  if (rng() % 8 == 0) f.resize(rng() % (f.size() + 1));
}

void fuzz(bool is64, bool notesInSection, uint64_t seed) {
  auto kb = TestElfBuilder::pvhKernel(is64);
  kb.notesInSection = notesInSection;
  const auto valid = kb.build();
  const auto ramdisk = TestElfBuilder::pattern(0x1800, 5);
  FakePhysMemory mem({{0, 8u << 20}});
  std::mt19937_64 rng(seed);
  int ok = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    auto f = valid;
    mutate(f, rng);
    auto r = buildPvh(mem, {f, ramdisk, "console=hvc0"});
    if (r.isOk()) {
      ++ok;
      EXPECT_LT(r->startInfoGpa, 8u << 20);
    } else {
      const int c = r.status().code();
      EXPECT_TRUE(c == ENOEXEC || c == EINVAL || c == E2BIG) << r.status().toString();
    }
  }
  // Some mutations land in padding or data: the loop must exercise success too.
  EXPECT_GT(ok, 0);
}

TEST(ElfFuzz, Elf64MutationsNeverCrash) { fuzz(true, false, 1); }
TEST(ElfFuzz, Elf32MutationsNeverCrash) { fuzz(false, false, 2); }
TEST(ElfFuzz, SectionNoteMutationsNeverCrash) { fuzz(true, true, 3); }

TEST(ElfFuzz, RandomBytesNeverCrash) {
  std::mt19937_64 rng(4);
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<uint8_t> f(rng() % 300);
    for (auto& b : f) b = static_cast<uint8_t>(rng());
    if (f.size() >= 6 && rng() % 2) {
      f[0] = 0x7f, f[1] = 'E', f[2] = 'L', f[3] = 'F', f[4] = 1 + rng() % 2, f[5] = 1;
    }
    auto r = ElfImage::parse(f);
    if (!r.isOk()) {
      EXPECT_EQ(r.status().code(), ENOEXEC);
    }
  }
}

}  // namespace
}  // namespace smartvm::hv
