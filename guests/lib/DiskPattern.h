// The data workload=blk writes and checks: every 512-byte sector's content
// follows from its sector number and a seed, so a second boot (or another
// tool) can verify a disk without knowing what else happened. Word 0 is the
// sector number and word 1 the seed in plain form (readable in a hex dump);
// the other 62 words mix both, so a sector written to the wrong place or by
// a run with another seed never verifies. Cheap on purpose: CPL0 is emulated.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace diskpattern {

constexpr unsigned kWordsPerSector = 512 / 8;

uint64_t word(uint64_t seed, uint64_t sector, unsigned index);

/// Writes sector's 512 bytes to dst.
void fill(void* dst, uint64_t seed, uint64_t sector);

/// The first word of src (512 bytes) that differs from sector's pattern,
/// or kWordsPerSector when all match.
unsigned check(const void* src, uint64_t seed, uint64_t sector);

}  // namespace diskpattern
