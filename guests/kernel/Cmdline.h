// The kernel command line: space separated key=value words.
#pragma once
#include "lib/String.h"

class Cmdline {
 public:
  explicit Cmdline(Str text) : text_(text) {}

  Str text() const { return text_; }

  /// True when some word is key=... (or just key).
  bool has(Str key) const;

  /// The value of the last key=value word, or def.
  Str value(Str key, Str def) const;

  /// Parses key=<decimal>; def when absent; false when malformed or too big.
  bool number(Str key, uint64_t def, uint64_t& out) const;

  /// number(), but a malformed value ends the guest with FAIL.
  uint64_t numberOrFail(Str key, uint64_t def) const;

  /// numberOrFail() for an option without a default: absent ends the guest with FAIL.
  uint64_t requiredNumber(Str key) const;

 private:
  /// Calls visit(key, value) for every word; stops early when it returns false.
  template <typename Visit>
  void forEachWord(Visit visit) const;

  Str text_;
};
