// Building one line of console output without a C library.
#pragma once
#include "lib/String.h"

/// A fixed-size text line; appends past the capacity are dropped.
class Line {
 public:
  static constexpr size_t kCapacity = 400;

  Line& str(Str s);
  Line& ch(char c);
  /// Unsigned decimal.
  Line& dec(uint64_t v);
  /// Signed decimal.
  Line& sdec(int64_t v);
  /// "0x" and lowercase hex digits, no leading zeros.
  Line& hex(uint64_t v);

  Str view() const { return Str(buf_, len_); }
  void clear() { len_ = 0; }

 private:
  char buf_[kCapacity] = {};
  size_t len_ = 0;
};

/// Writes v in decimal to out (at least 21 bytes); returns the digit count.
size_t formatDecimal(uint64_t v, char* out);

/// Appends v rounded to exactly `decimals` fractional digits (CPL3 only: uses SSE).
void appendFixed(Line& line, double v, unsigned decimals);
