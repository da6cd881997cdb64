// Thin wrappers over privileged and I/O instructions.
#pragma once
#include <stdint.h>

namespace cpu {

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

inline void wrmsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32))
               : "memory");
}

inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

/// rdtsc after lfence, so it is not executed ahead of earlier loads (rdtsc_ordered).
inline uint64_t rdtscOrdered() {
  asm volatile("lfence" ::: "memory");
  return rdtsc();
}

inline uint64_t readCr0() {
  uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}

inline uint64_t readCr2() {
  uint64_t v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}

inline uint64_t readCr3() {
  uint64_t v;
  asm volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}

inline uint64_t readCr4() {
  uint64_t v;
  asm volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}

inline void cli() { asm volatile("cli" ::: "memory"); }

/// Index of the lowest set bit of a non-zero word (bsf: the CPL0 emulator
/// here knows it; tzcnt is not something to rely on).
inline unsigned lowestBit(uint64_t v) {
  uint64_t i;
  asm("bsfq %1, %0" : "=r"(i) : "rm"(v) : "cc");
  return static_cast<unsigned>(i);
}

inline void pause() { asm volatile("pause" ::: "memory"); }

inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

inline uint8_t inb(uint16_t port) {
  uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint16_t inw(uint16_t port) {
  uint16_t v;
  asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint32_t inl(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

struct [[gnu::packed]] DescriptorPointer {
  uint16_t limit;
  uint64_t base;
};

inline void lidt(const DescriptorPointer& p) { asm volatile("lidt %0" : : "m"(p) : "memory"); }
inline void ltr(uint16_t selector) { asm volatile("ltr %0" : : "r"(selector) : "memory"); }

[[noreturn]] inline void haltForever() {
  for (;;) asm volatile("cli; hlt");
}

}  // namespace cpu
