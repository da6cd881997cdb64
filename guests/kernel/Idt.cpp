#include "kernel/Idt.h"

#include <stdint.h>

#include "kernel/Cpu.h"
#include "pvh/Boot.h"

extern "C" char exception_stubs[];

namespace idt {
namespace {

constexpr unsigned kExceptions = 32;
constexpr unsigned kVectors = 256;
constexpr unsigned kStubStride = 16;
constexpr uint8_t kInterruptGate = 0x8e;  // present, DPL0, 64-bit interrupt gate

struct IdtGate {
  uint16_t offsetLow;
  uint16_t selector;
  uint8_t ist;
  uint8_t typeAttr;
  uint16_t offsetMid;
  uint32_t offsetHigh;
  uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

alignas(16) IdtGate gIdt[kVectors];

IdtGate gate(uint64_t handler) {
  IdtGate g{};
  g.offsetLow = static_cast<uint16_t>(handler);
  g.selector = GDT_KERNEL_CODE;
  g.typeAttr = kInterruptGate;
  g.offsetMid = static_cast<uint16_t>(handler >> 16);
  g.offsetHigh = static_cast<uint32_t>(handler >> 32);
  return g;
}

}  // namespace

void init() {
  uint64_t stubs = reinterpret_cast<uintptr_t>(exception_stubs);
  for (unsigned v = 0; v < kExceptions; ++v) gIdt[v] = gate(stubs + v * kStubStride);
  load();
}

void load() { cpu::lidt({sizeof(gIdt) - 1, reinterpret_cast<uintptr_t>(gIdt)}); }

void setGate(uint8_t vector, void (*handler)()) { gIdt[vector] = gate(reinterpret_cast<uintptr_t>(handler)); }

void loadEmpty() { cpu::lidt({0, 0}); }

}  // namespace idt
