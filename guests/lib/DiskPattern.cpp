#include "lib/DiskPattern.h"

namespace diskpattern {
namespace {

uint64_t base(uint64_t seed, uint64_t sector) {
  return sector * 0x9E3779B97F4A7C15ull ^ (seed + 1) * 0xC2B2AE3D27D4EB4Full;
}

uint64_t mix(uint64_t b, unsigned index) {
  uint64_t x = b ^ (index * 0x165667B19E3779F9ull);
  return x ^ (x >> 29);
}

}  // namespace

uint64_t word(uint64_t seed, uint64_t sector, unsigned index) {
  if (index == 0) return sector;
  if (index == 1) return seed;
  return mix(base(seed, sector), index);
}

void fill(void* dst, uint64_t seed, uint64_t sector) {
  auto* w = static_cast<uint64_t*>(dst);
  const uint64_t b = base(seed, sector);
  w[0] = sector;
  w[1] = seed;
  for (unsigned i = 2; i < kWordsPerSector; ++i) w[i] = mix(b, i);
}

unsigned check(const void* src, uint64_t seed, uint64_t sector) {
  const auto* w = static_cast<const uint64_t*>(src);
  if (w[0] != sector) return 0;
  if (w[1] != seed) return 1;
  const uint64_t b = base(seed, sector);
  for (unsigned i = 2; i < kWordsPerSector; ++i) {
    if (w[i] != mix(b, i)) return i;
  }
  return kWordsPerSector;
}

}  // namespace diskpattern
