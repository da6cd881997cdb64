// A half-open range of guest-physical addresses.
#pragma once
#include <stdint.h>

struct Range {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive

  uint64_t size() const { return end > start ? end - start : 0; }
  bool contains(uint64_t a) const { return a >= start && a < end; }
};
