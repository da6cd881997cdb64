#include "kernel/Tss.h"

#include "kernel/Cpu.h"
#include "pvh/Boot.h"

extern "C" uint64_t boot_gdt[GDT_ENTRIES];

namespace tss {
namespace {

struct [[gnu::packed]] Tss64 {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t ioMapBase;
};
static_assert(sizeof(Tss64) == 104);

constexpr uint64_t kAvailableTss = 0x89;  // present, type 9

alignas(16) Tss64 gTss[MAX_CPUS];

}  // namespace

void init(uint32_t cpu, uint64_t rsp0) {
  Tss64& t = gTss[cpu];
  t.rsp[0] = rsp0;
  // No I/O bitmap: port I/O from CPL3 faults, which is what we want.
  t.ioMapBase = sizeof(Tss64);
  uint64_t base = reinterpret_cast<uintptr_t>(&t);
  uint64_t limit = sizeof(Tss64) - 1;
  const unsigned selector = GDT_TSS + 16 * cpu;
  boot_gdt[selector / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (kAvailableTss << 40) |
                           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
  boot_gdt[selector / 8 + 1] = base >> 32;
  cpu::ltr(static_cast<uint16_t>(selector));
}

}  // namespace tss
