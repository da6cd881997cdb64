// The selftest workload's checks, grouped in suites (suite= option).
#pragma once
#include <stddef.h>

#include "lib/Format.h"

struct SelftestCheck {
  const char* name;
  bool (*run)(Line& detail);  // true: passed; detail says what was seen
};

struct SelftestSuite {
  const char* name;
  const SelftestCheck* checks;
  size_t count;
};

/// Hypercalls without event channels (the original selftest).
extern const SelftestSuite kBaseSuite;
/// Event channel error codes, upcall delivery, Xen time and timers.
extern const SelftestSuite kEventsSuite;
