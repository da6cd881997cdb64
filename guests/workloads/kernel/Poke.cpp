// poke: port I/O and MMIO where nothing decodes must read all-ones, as on a PC.
#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Shutdown.h"
#include "workloads/Workloads.h"

namespace {

// Clear of the PIC, PIT, keyboard, RTC, POST, serial, PCI config and
// hypercall (0xe4) ports.
constexpr uint16_t kPorts[] = {0x1234, 0x5678};
// In the PCI hole below 4 GiB, away from the LAPIC/IOAPIC/HPET pages.
constexpr uint64_t kMmio[] = {0xd0000000, 0xe0001000};

void expectAllOnes(Str what, uint64_t where, uint64_t got, uint64_t want) {
  if (got == want) return;
  fail(Line().str("poke ").str(what).ch(' ').hex(where).str(" read ").hex(got).str(", want ").hex(want));
}

void pokePort(uint16_t port) {
  cpu::outb(port, 0x5a);
  cpu::outw(port, 0x5a5a);
  cpu::outl(port, 0x5a5a5a5a);
  expectAllOnes("inb", port, cpu::inb(port), 0xff);
  expectAllOnes("inw", port, cpu::inw(port), 0xffff);
  expectAllOnes("inl", port, cpu::inl(port), 0xffffffff);
}

void pokeMmio(uint64_t addr) {
  *reinterpret_cast<volatile uint32_t*>(addr) = 0x5a5a5a5a;
  expectAllOnes("mmio8", addr, *reinterpret_cast<volatile uint8_t*>(addr), 0xff);
  expectAllOnes("mmio16", addr, *reinterpret_cast<volatile uint16_t*>(addr), 0xffff);
  expectAllOnes("mmio32", addr, *reinterpret_cast<volatile uint32_t*>(addr), 0xffffffff);
}

}  // namespace

void runPoke(const Cmdline&) {
  for (uint16_t port : kPorts) pokePort(port);
  for (uint64_t addr : kMmio) pokeMmio(addr);
  constexpr size_t ports = sizeof(kPorts) / sizeof(kPorts[0]);
  constexpr size_t mmio = sizeof(kMmio) / sizeof(kMmio[0]);
  console::print(Line().str("RESULT poke ports=").dec(ports).str(" mmio=").dec(mmio).str(" allones=yes"));
}
