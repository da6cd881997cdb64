#pragma once
// smartvm-sched-bench: command line options.
#include <chrono>
#include <string>
#include <vector>

#include "SchedBenchTypes.h"

namespace smartvm::schedbench {

struct Options {
  bool quick = false;
  std::vector<std::string> jobs{"dot", "pi", "rc4", "nbody"};
  std::vector<std::string> policies{"credit", "parallel", "none"};
  std::vector<unsigned> vms{2, 4, 8};
  std::vector<unsigned> vcpus{2, 4};
  unsigned reps = 1;
  std::string outDir = "sched-bench-out";
  std::string json;  // empty = none
  std::string pcpus;  // HypervisorOptions::pcpus
  /// Parallel policy: also mark each VM concurrent_work in its DomainConfig
  /// (the guest's SMARTVM_SCHEDOP_parallel hints mark its parallel phase either way).
  bool concurrentWork = false;
  std::string guest;
  std::chrono::seconds timeout{600};

  /// Every (VMs, vCPUs) pair, VM count outer.
  std::vector<Setting> settings() const;
};

/// "2,4,8", "2..4" or a mix ("2..4,8") as numbers; throws std::invalid_argument.
std::vector<unsigned> parseCounts(const std::string& text, unsigned lo, unsigned hi);
/// "dot,pi" as names; throws std::invalid_argument for an empty item.
std::vector<std::string> parseNames(const std::string& text);

/// Parses argv into `o`. Returns -1 to go on, or an exit code (help, bad option).
int parseOptions(int argc, char** argv, Options& o);

}  // namespace smartvm::schedbench
