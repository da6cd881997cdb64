// workload=par: numeric jobs split across vCPUs, layer by layer, with a
// barrier after every layer; each of `tasks` parallel tasks runs the whole
// job. What the CPL0 driver (workloads/kernel/Parallel.cpp) and the CPL3 jobs
// (workloads/user/ParJobs.cpp) share.
//
// A job's hooks run at CPL3 (they may use SSE); the driver only passes State
// around and reads its integer fields.
#pragma once
#include <stdint.h>

#include "lib/Format.h"
#include "pvh/Boot.h"

namespace par {

/// One vCPU's answer for the layers it ran, on its own cache line.
struct alignas(64) CpuPart {
  uint64_t u;  // dot: wrapping sum; rc4: smallest matching key (kNoKey if none)
  double f;
};

constexpr uint64_t kNoKey = ~uint64_t{0};

/// Everything a run of a job needs; written by the driver, then by setup().
struct State {
  uint32_t vcpus;    // vCPUs taking part (ids 0..vcpus-1)
  uint32_t layers;   // barrier-separated layers
  uint64_t size;     // the job's size option (steps, n, keys, bodies)
  uint64_t seed;     // rc4, nbody: inputs derived from it
  uint64_t units;    // work items split across layers and vCPUs (set by setup())
  void* memory;      // bytesFor(job) of free RAM, or nullptr
  uint64_t serialSteps;  // steps of one serial task (a pi integration)
  double serialValue;    // the last serial task's answer
  CpuPart part[MAX_CPUS];
  uint8_t rc4Cipher[16];  // rc4: the known ciphertext
  uint64_t rc4Key;        // rc4: the key setup() encrypted with (the answer)
  Line value;             // finish(): the value= text
};

struct Job {
  const char* name;
  const char* sizeKey;  // its size option
  uint64_t sizeDef;
  // At CPL3. setup: vCPU 0, once, before the serial tasks: builds the inputs
  // no task changes.
  void (*setup)(State& s);
  // vCPU 0, before each parallel task: puts back what work() changes, so that
  // every task of a boot computes the same answer (one reference checks all).
  void (*start)(State& s);
  // Runs vCPU `cpu`'s share of layer `layer`.
  void (*work)(State& s, uint32_t cpu, uint32_t layer);
  // vCPU 0, after a task's last layer: appends the answer to s.value.
  void (*finish)(State& s);
};

/// The jobs, ended by a row with name == nullptr.
extern const Job kJobs[];

/// One serial task at CPL3: the midpoint-rule pi integral over s.serialSteps.
void serialTask(State& s);

/// Start of part i of count when `units` items are split as evenly as possible.
inline uint64_t splitStart(uint64_t units, uint64_t i, uint64_t count) {
  const uint64_t extra = units % count;
  return i * (units / count) + (i < extra ? i : extra);
}

// Size constants the driver needs to reserve RAM (integers only: CPL0).
constexpr uint64_t kPiBlock = 4096;     // pi: steps per block sum
constexpr uint64_t kNbodyDoubles = 9;   // nbody: 2 x position + velocity per body
constexpr uint64_t kRc4MaxKeys = uint64_t{1} << 24;  // rc4: 3-byte keys

}  // namespace par
