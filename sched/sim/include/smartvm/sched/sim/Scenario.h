#pragma once
// The CLI's canned scenarios, built as SimConfigs from a few knobs:
//   fairness  CPU-bound domains only: CPU share against the weight-share target
//   io        half the domains I/O-like (exponential run/block), half CPU-bound:
//             wake-up latency under contention
//   parallel  half the domains run barrier-synchronised tasks back to back,
//             half CPU-bound: task completion time and what is left for the rest
//   scale     a mix of all three on a big machine (default 256 pCPUs x 10,000
//             vCPUs), run at growing vCPU counts to show the decision cost growing
//   experiment  the parallel-task scheduler's published experiment: VMs of 2
//             serial + 4 parallel tasks of one job (Experiment.h); --domains is
//             the VM count, and the run stops when every VM is done
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/sched/sim/Experiment.h"
#include "smartvm/sched/sim/SimConfig.h"

namespace smartvm::sched::sim {

enum class ScenarioKind { Fairness, Io, Parallel, Scale, Experiment };

/// The knobs, one per CLI option; unset ones take the scenario's default.
struct ScenarioKnobs {
  ScenarioKind kind = ScenarioKind::Fairness;
  std::optional<unsigned> pcpus;
  std::optional<unsigned> domains;
  std::optional<unsigned> vcpusPerDomain;
  std::optional<double> seconds;  ///< simulated
  uint64_t seed = 1;
  std::vector<int64_t> weights;  ///< none, one for every domain, or one per domain
  std::vector<int64_t> caps;     ///< the same, percent of a pCPU, 0 = none
  Ns switchCost = 0;
  Params globalParams;
  ExperimentJob job = ExperimentJob::Dot;  ///< experiment: the VMs' job
  unsigned background = 0;                 ///< experiment: CPU-bound domains besides the VMs
};

/// "fairness", "io", "parallel", "scale", "experiment"; EINVAL listing them otherwise.
Result<ScenarioKind> parseScenario(std::string_view name);
const char* scenarioName(ScenarioKind k);

/// The scenario's config. EINVAL naming the CLI option (--pcpus, --weights, ...)
/// for a bad knob.
Result<SimConfig> makeScenario(const ScenarioKnobs& k);

/// For the scale scenario: its config cut to 1/64, 1/16, 1/4 and all of its
/// domains (duplicates and empty steps dropped), smallest first.
Result<std::vector<SimConfig>> scaleSweep(const ScenarioKnobs& k);

}  // namespace smartvm::sched::sim
