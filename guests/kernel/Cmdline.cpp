#include "kernel/Cmdline.h"

#include "kernel/Shutdown.h"

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool parseDecimal(Str s, uint64_t& out) {
  if (s.size == 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < s.size; ++i) {
    char c = s.data[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

}  // namespace

template <typename Visit>
void Cmdline::forEachWord(Visit visit) const {
  size_t i = 0;
  while (i < text_.size) {
    while (i < text_.size && isSpace(text_.data[i])) ++i;
    size_t start = i;
    while (i < text_.size && !isSpace(text_.data[i])) ++i;
    if (i == start) break;
    Str word = text_.sub(start, i - start);
    size_t eq = word.find('=');
    Str value = eq < word.size ? word.sub(eq + 1) : Str("", 0);
    if (!visit(word.sub(0, eq), value)) return;
  }
}

bool Cmdline::has(Str key) const {
  bool found = false;
  forEachWord([&](Str k, Str) {
    found = k == key;
    return !found;
  });
  return found;
}

Str Cmdline::value(Str key, Str def) const {
  Str result = def;
  forEachWord([&](Str k, Str v) {
    if (k == key) result = v;
    return true;
  });
  return result;
}

bool Cmdline::number(Str key, uint64_t def, uint64_t& out) const {
  if (!has(key)) {
    out = def;
    return true;
  }
  return parseDecimal(value(key, Str()), out);
}

uint64_t Cmdline::numberOrFail(Str key, uint64_t def) const {
  uint64_t v = 0;
  if (!number(key, def, v)) {
    Line why;
    why.str("bad value '").str(value(key, Str())).str("' for ").str(key).str("= (want a decimal number)");
    fail(why);
  }
  return v;
}

uint64_t Cmdline::requiredNumber(Str key) const {
  if (!has(key)) fail(Line().str(key).str("= is required"));
  return numberOrFail(key, 0);
}
