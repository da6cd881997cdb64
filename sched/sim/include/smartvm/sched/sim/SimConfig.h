#pragma once
// What one simulation runs: the machine (pCPUs, context-switch cost), the
// domains with their policy parameters and synthetic workloads, the simulated
// duration and the seed. Plain data; validate() says what is wrong with it.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "smartvm/Status.h"
#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched::sim {

/// The most vCPUs one simulation may hold (all domains together).
inline constexpr unsigned kMaxSimVcpus = 10000;
inline constexpr Ns kNsPerSec = 1000 * kNsPerMs;

/// A duration drawn per use: always `mean`, or exponential with that mean.
struct Distribution {
  enum class Kind { Fixed, Exponential };
  Kind kind = Kind::Fixed;
  Ns mean = kNsPerMs;

  /// One draw, at least 1 ns: a zero-length burst would loop without time passing.
  Ns sample(std::mt19937_64& rng) const;
  static Distribution fixed(Ns mean) { return {Kind::Fixed, mean}; }
  static Distribution exponential(Ns mean) { return {Kind::Exponential, mean}; }
};

/// What every vCPU of a domain does.
struct Workload {
  enum class Kind {
    CpuBound,  ///< always runnable
    Io,        ///< runs `run`, blocks `block`, again
    Parallel,  ///< barrier-synchronised layers of a parallel task
  };
  Kind kind = Kind::CpuBound;

  /// CpuBound: yield (SCHEDOP_yield) after this much running, as a spin loop
  /// would; 0 = never.
  Ns yieldEvery = 0;

  Distribution run = Distribution::fixed(kNsPerMs);         ///< Io: burst length
  Distribution block = Distribution::fixed(4 * kNsPerMs);   ///< Io: time blocked

  unsigned layers = 1;          ///< Parallel: layers per task
  Ns chunk = 2 * kNsPerMs;      ///< Parallel: work per vCPU per layer
  /// Parallel: each chunk is drawn uniformly from chunk * [1 - jitter, 1 + jitter].
  double chunkJitter = 0.0;
  /// Parallel: per-vCPU chunk lengths overriding `chunk` (empty, or one per vCPU).
  std::vector<Ns> chunks;
  unsigned tasks = 1;           ///< Parallel: tasks to run; 0 = back to back until the end
  Ns taskGap = 0;               ///< Parallel: blocked time between two tasks
  Ns start = 0;                 ///< Parallel: when the first task starts (or its serial tasks)
  /// Parallel: serial tasks vCPU 0 runs alone (common work, no hints) before
  /// the first parallel task, back to back, while the other vCPUs wait blocked.
  unsigned serialTasks = 0;
  Ns serialWork = 10 * kNsPerMs;  ///< Parallel: CPU time of one serial task
  /// Parallel: hints as a real guest issues them, each from the vCPU itself
  /// while it runs: ConcurrentBegin when it first runs in the task,
  /// ConcurrentEnd when it runs again after the last barrier (a vCPU that
  /// then leaves for good says it as it goes). Otherwise every vCPU's
  /// Begin/End is sent the moment the task starts/ends, running or not.
  bool guestHints = false;

  static Workload cpuBound() { return {}; }
  static Workload io(Distribution run, Distribution block);
  static Workload parallel(unsigned layers, Ns chunk, unsigned tasks);
};

/// The domain is paused at `at` for `length` (xl pause / unpause).
struct PauseWindow {
  Ns at = 0;
  Ns length = 0;
};

/// One simulated domain; its domid is its index in SimConfig::domains plus 1.
struct DomainSpec {
  std::string name;
  unsigned vcpus = 1;
  WorkType work = WorkType::Common;  ///< SchedDomain::configuredWork
  Params params;                     ///< through setDomainParams ("weight", "cap", ...)
  Workload workload;
  std::vector<PauseWindow> pauses;
};

/// A whole simulation.
struct SimConfig {
  unsigned pcpus = 1;
  Ns duration = kNsPerSec;  ///< simulated time
  uint64_t seed = 1;        ///< seeds the one std::mt19937_64 all draws come from
  Ns switchCost = 0;        ///< a pCPU starting another vCPU does no useful work this long
  Params globalParams;      ///< through setGlobalParams, when not empty
  /// End the run as soon as every domain with a finite number of parallel
  /// tasks has finished them (if there is any); the report's duration is then
  /// that moment. `duration` stays the limit.
  bool stopWhenDone = false;
  std::vector<DomainSpec> domains;
};

/// EINVAL naming the first bad field ("domains[2].workload.layers: ..."), or ok.
[[nodiscard]] Status validate(const SimConfig& c);

/// Total vCPUs over all domains.
unsigned totalVcpus(const SimConfig& c);

const char* workloadName(Workload::Kind k);

}  // namespace smartvm::sched::sim
