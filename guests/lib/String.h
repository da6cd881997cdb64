// Byte strings for a kernel without a C library.
#pragma once
#include <stddef.h>
#include <stdint.h>

extern "C" {
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
}

/// A non-owning view of characters (there is no std::string_view here).
struct Str {
  const char* data = nullptr;
  size_t size = 0;

  constexpr Str() = default;
  constexpr Str(const char* d, size_t n) : data(d), size(n) {}
  // Implicit on purpose; the builtin folds the length of literals at compile time.
  constexpr Str(const char* cstr) : data(cstr), size(cstr ? __builtin_strlen(cstr) : 0) {}  // NOLINT

  bool operator==(Str other) const;
  bool startsWith(Str prefix) const;
  /// Characters [pos, pos + n), clamped to the string.
  Str sub(size_t pos, size_t n = SIZE_MAX) const;
  /// Index of the first c at or after pos, or size when there is none.
  size_t find(char c, size_t pos = 0) const;
};

/// Length of s, looking at no more than max bytes.
size_t strLengthMax(const char* s, size_t max);
