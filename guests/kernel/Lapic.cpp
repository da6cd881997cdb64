#include "kernel/Lapic.h"

namespace lapic {
namespace {

constexpr uint64_t kBase = 0xfee00000;
constexpr uint32_t kId = 0x20;
constexpr uint32_t kTpr = 0x80;
constexpr uint32_t kPpr = 0xa0;
constexpr uint32_t kEoi = 0xb0;
constexpr uint32_t kSvr = 0xf0;
constexpr uint32_t kIsr = 0x100;
constexpr uint32_t kIrr = 0x200;
constexpr uint32_t kSvrEnable = 0x100;
constexpr uint32_t kLvtTimer = 0x320;
constexpr uint32_t kTmict = 0x380;
constexpr uint32_t kTdcr = 0x3e0;
constexpr uint32_t kTdcrDivideBy1 = 0xb;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtPeriodic = 1u << 17;

volatile uint32_t& reg(uint32_t offset) { return *reinterpret_cast<volatile uint32_t*>(kBase + offset); }

/// Bit `vector` of a 256-bit register bank (ISR, TMR, IRR): eight 32-bit words, 16 bytes apart.
bool bankBit(uint32_t bank, uint8_t vector) {
  return (reg(bank + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}

}  // namespace

void enable() {
  reg(kTpr) = 0;
  reg(kSvr) = kSvrEnable | kSpuriousVector;
}

uint32_t id() { return reg(kId) >> 24; }

void eoi() { reg(kEoi) = 0; }

bool requested(uint8_t vector) { return bankBit(kIrr, vector); }

bool inService(uint8_t vector) { return bankBit(kIsr, vector); }

void armTimer(uint8_t vector, uint32_t count, bool periodic) {
  reg(kTdcr) = kTdcrDivideBy1;
  reg(kLvtTimer) = vector | (periodic ? kLvtPeriodic : 0);
  reg(kTmict) = count;  // last: writing the initial count starts it
}

void stopTimer() {
  reg(kTmict) = 0;
  reg(kLvtTimer) = kLvtMasked;
}

bool deliverable(uint8_t vector) {
  if (!requested(vector)) return false;
  return (vector >> 4) > ((reg(kPpr) >> 4) & 0xf);
}

}  // namespace lapic
