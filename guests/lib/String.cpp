#include "lib/String.h"

// String instructions because the CPL0 emulator runs one "rep movsb" much
// faster than a loop, and the compiler must not turn these back into calls.
extern "C" void* memcpy(void* dst, const void* src, size_t n) {
  void* d = dst;
  asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}

extern "C" void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<const char*>(src);
  if (d <= s || d >= s + n) return memcpy(dst, src, n);
  d += n - 1;
  s += n - 1;
  asm volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return dst;
}

extern "C" void* memset(void* dst, int c, size_t n) {
  void* d = dst;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return dst;
}

extern "C" int memcmp(const void* a, const void* b, size_t n) {
  auto* x = static_cast<const unsigned char*>(a);
  auto* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

extern "C" size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

size_t strLengthMax(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n] != '\0') ++n;
  return n;
}

bool Str::operator==(Str other) const {
  return size == other.size && memcmp(data, other.data, size) == 0;
}

bool Str::startsWith(Str prefix) const {
  return size >= prefix.size && memcmp(data, prefix.data, prefix.size) == 0;
}

Str Str::sub(size_t pos, size_t n) const {
  if (pos > size) pos = size;
  if (n > size - pos) n = size - pos;
  return Str(data + pos, n);
}

size_t Str::find(char c, size_t pos) const {
  for (size_t i = pos; i < size; ++i) {
    if (data[i] == c) return i;
  }
  return size;
}
