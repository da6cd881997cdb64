// What a workload is. Registering a new one is one row in kernel/Workloads.cpp.
//
// Two kinds:
//  - kernel workloads: one function run at CPL0 (hypercall checks, benches);
//  - sliced workloads: numeric work at CPL3, written as a function over a
//    [begin, end) slice of `units` plus a combine step, so the same code can
//    later be split across vCPUs with a barrier between phases.
#pragma once
#include <stdint.h>

#include "kernel/Cmdline.h"
#include "lib/Format.h"

/// A slice's answer. Over 16 bytes on purpose: returned in memory, so CPL0
/// code (which has no SSE registers) may pass it around.
union Partial {
  uint64_t u[4];
  double f[4];
};

/// How many numeric options besides `units` a sliced workload may have.
constexpr unsigned kMaxParams = 2;

/// One numeric option of a sliced workload.
struct ParamSpec {
  const char* key;  // nullptr: unused
  uint64_t def;
};

/// The state one run of a sliced workload shares between CPL0 and CPL3.
struct Job {
  uint64_t units;              // work items, split into slices
  uint64_t param[kMaxParams];  // the SlicedWorkload::params values
  void* memory;                // bytesPerUnit * units bytes of free RAM (or nullptr)
  Line result;                 // the RESULT line, written by report()
};

struct SlicedWorkload {
  ParamSpec units;               // e.g. {"steps", 20000000}
  ParamSpec params[kMaxParams];  // more options, copied to Job::param
  uint64_t bytesPerUnit;         // RAM the kernel reserves per unit
  uint32_t phases;               // slice() runs once per phase; a barrier separates phases
  // All three run at CPL3.
  Partial (*slice)(const Job& job, uint32_t phase, uint64_t begin, uint64_t end);
  Partial (*combine)(const Partial& a, const Partial& b);
  void (*report)(Job& job, const Partial& total);
};

struct Workload {
  const char* name;
  void (*runKernel)(const Cmdline& cmdline);  // kernel workload, or nullptr
  const SlicedWorkload* sliced;               // sliced workload, or nullptr
};

/// Finds name in the registry; nullptr when unknown.
const Workload* findWorkload(Str name);

/// Runs a sliced workload on this vCPU and prints its RESULT line.
void runSliced(const SlicedWorkload& workload, const Cmdline& cmdline);
