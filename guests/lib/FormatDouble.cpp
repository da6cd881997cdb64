// Floating point formatting; compiled for CPL3 because the kernel has no FP.
#include "lib/Format.h"

namespace {

uint64_t powerOfTen(unsigned n) {
  uint64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

}  // namespace

void appendFixed(Line& line, double v, unsigned decimals) {
  if (v != v) {
    line.str("nan");
    return;
  }
  if (v < 0) {
    line.ch('-');
    v = -v;
  }
  if (decimals > 18) decimals = 18;
  const uint64_t scale = powerOfTen(decimals);
  if (v >= 9.0e18 / static_cast<double>(scale)) {
    line.str("inf");
    return;
  }
  uint64_t whole = static_cast<uint64_t>(v);
  uint64_t frac = static_cast<uint64_t>((v - static_cast<double>(whole)) * static_cast<double>(scale) + 0.5);
  if (frac >= scale) {  // rounding carried into the integer part
    whole += 1;
    frac -= scale;
  }
  line.dec(whole);
  if (decimals == 0) return;
  char digits[21];
  size_t n = formatDecimal(frac, digits);
  line.ch('.');
  for (size_t i = n; i < decimals; ++i) line.ch('0');
  line.str(Str(digits, n));
}
