#include "lib/Format.h"

size_t formatDecimal(uint64_t v, char* out) {
  char tmp[21];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

Line& Line::str(Str s) {
  size_t n = s.size < kCapacity - len_ ? s.size : kCapacity - len_;
  memcpy(buf_ + len_, s.data, n);
  len_ += n;
  return *this;
}

Line& Line::ch(char c) { return str(Str(&c, 1)); }

Line& Line::dec(uint64_t v) {
  char digits[21];
  return str(Str(digits, formatDecimal(v, digits)));
}

Line& Line::sdec(int64_t v) {
  if (v >= 0) return dec(static_cast<uint64_t>(v));
  ch('-');
  return dec(0 - static_cast<uint64_t>(v));
}

Line& Line::hex(uint64_t v) {
  char digits[16];
  size_t n = 0;
  do {
    digits[15 - n++] = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  } while (v != 0);
  str("0x");
  return str(Str(digits + 16 - n, n));
}
