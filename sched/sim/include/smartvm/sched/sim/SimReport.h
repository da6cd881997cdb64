#pragma once
// What a simulation measured: per-domain CPU time against the weight-share
// target, wake-up latency percentiles, parallel task completion times and the
// host cost of the policy's scheduling decisions. Also its JSON and table forms.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smartvm/sched/Scheduler.h"
#include "smartvm/sched/sim/SimConfig.h"

namespace smartvm::sched::sim {

/// Nearest-rank percentiles of a set of durations.
struct LatencyStats {
  uint64_t count = 0;
  Ns p50 = 0, p90 = 0, p99 = 0, max = 0;
  double mean = 0;
};
LatencyStats latencyStats(std::vector<Ns> samples);

/// One domain's results.
struct DomainReport {
  uint32_t domid = 0;
  std::string name;
  Workload::Kind workload = Workload::Kind::CpuBound;
  unsigned vcpus = 0;
  int64_t weight = 0;  ///< as the policy reports it (domainParams), 256 if it has none
  int64_t cap = 0;     ///< percent of one pCPU, 0 = none
  Runstate total;      ///< summed over its vCPUs
  std::vector<Runstate> vcpuRunstates;
  double share = 0;               ///< running time / (pCPUs * duration)
  std::optional<double> target;   ///< weight-share target, CPU-bound domains only
  std::optional<double> relError; ///< |share - target| / target
  LatencyStats wakeLatency;       ///< its vCPUs' wake-to-running times
  std::vector<Ns> taskTimes;      ///< completion time of each finished parallel task
  std::vector<Ns> serialTimes;    ///< completion time of each finished serial task
  Ns doneAt = -1;                 ///< when its last finite task finished, -1 if not (or endless)
};

/// Host (wall-clock) cost of the policy's doSchedule calls.
struct DecisionCost {
  uint64_t calls = 0;
  double meanNs = 0;
  int64_t maxNs = 0;
};

/// One simulation's results.
struct SimReport {
  std::string policy;
  unsigned pcpus = 0;
  unsigned vcpus = 0;
  Ns duration = 0;  ///< simulated; the moment the run stopped when it stopped early (stopWhenDone)
  uint64_t seed = 0;
  Ns switchCost = 0;
  std::vector<DomainReport> domains;
  LatencyStats wakeLatency;                ///< over all domains
  std::optional<double> weightShareError;  ///< max relError over CPU-bound domains
  DecisionCost decisions;
  uint64_t events = 0;           ///< events handled
  uint64_t contextSwitches = 0;  ///< a pCPU started a vCPU other than the one it ran last
  uint64_t hintErrors = 0;       ///< work hints the policy refused
  uint64_t hints[3] = {0, 0, 0}; ///< hints sent, by WorkHint (ConcurrentBegin, ConcurrentEnd, LayerDone)
  std::string firstHintError;
  uint64_t traceHash = 0;  ///< hash of every handled event and decision: equal runs, equal hashes
  double wallSeconds = 0;  ///< host time the run took
};

/// Fills each CPU-bound domain's target and relError and the report's
/// weightShareError. The target splits the pCPU time that other domains left
/// unused by weight, water-filling so that no domain's share exceeds what its
/// vCPU count and cap allow.
void computeShareTargets(SimReport& r);

/// The report as JSON; per-vCPU runstates only when `perVcpu`.
nlohmann::json toJson(const SimReport& r, bool perVcpu = false);

/// A titled table of strings, printed markdown-style.
struct Table {
  std::string title;
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
};
/// The report's tables: summary, domains, and tasks when there are any; the
/// domain and task tables stop after `maxDomainRows` rows.
std::vector<Table> reportTables(const SimReport& r, size_t maxDomainRows = SIZE_MAX);
/// "## title" then a markdown table with padded columns.
std::string renderTable(const Table& t);
/// A duration for people: "850 ns", "12.3 us", "4.56 ms", "1.20 s".
std::string formatNs(double ns);

}  // namespace smartvm::sched::sim
