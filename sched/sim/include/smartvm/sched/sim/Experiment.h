#pragma once
// The parallel-task scheduler's published experiment, in the simulator: each
// VM runs 2 serial tasks (vCPU 0 alone, the others blocked) and then 4
// parallel tasks back to back, barrier-synchronised layers split across its
// vCPUs, with the hints a real guest sends (guestHints: Begin when a vCPU
// first runs in a task, LayerDone per layer, End after the last barrier).
// 2, 4 or 8 VMs of 2 to 4 vCPUs; the same run under "credit" and "parallel";
// the mean parallel-task completion time compared against the published
// reductions (dot 25.61 %, pi 23.06 %, rc4 28.60 %, nbody 26.27 %).
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/sched/sim/SimConfig.h"
#include "smartvm/sched/sim/SimReport.h"

namespace smartvm::sched::sim {

enum class ExperimentJob { Dot, Pi, Rc4, Nbody };

/// What one job's parallel task looks like. A layer's work is split evenly
/// over the VM's vCPUs (as guests/workloads/kernel/Parallel.cpp does), so a
/// vCPU's chunk is layerWork / vCPUs, drawn within +-jitter.
struct JobShape {
  ExperimentJob job;
  const char* name;
  unsigned layers;
  Ns layerWork;           ///< CPU time of one layer, all vCPUs together
  double jitter;          ///< chunkJitter
  double paperReduction;  ///< the published completion-time reduction, percent
  const char* why;        ///< one line on the shape
};

inline constexpr unsigned kExperimentSerialTasks = 2;
inline constexpr unsigned kExperimentParallelTasks = 4;
inline constexpr Ns kExperimentSerialWork = 20 * kNsPerMs;

/// The four jobs, in the order dot, pi, rc4, nbody.
const std::vector<JobShape>& experimentJobs();
const JobShape& jobShape(ExperimentJob j);
/// "dot", "pi", "rc4", "nbody"; EINVAL (naming --job) otherwise.
Result<ExperimentJob> parseJob(std::string_view name);

/// One point of the experiment.
struct ExperimentSpec {
  ExperimentJob job = ExperimentJob::Dot;
  unsigned vms = 4;
  unsigned pcpus = 2;
  std::optional<unsigned> vcpusPerVm;  ///< unset: VM i has 2 + i % 3 vCPUs (2, 3, 4, 2, ...)
  unsigned background = 0;             ///< extra CPU-bound 2-vCPU domains (common work), 0 as published
  uint64_t seed = 1;
  Ns switchCost = 0;
  Params globalParams;  ///< to the parallel run; to the credit run all but the gang_* keys
  /// Hints as a guest sends them (Workload::guestHints); false: every vCPU's
  /// Begin/End at the task's start/end, running or not (the older simulator way).
  bool guestHints = true;
};

/// The config: VMs "vm1".. with the job, background domains "bg1".., stopping
/// when every VM has finished (a generous time limit guards against a stall).
/// EINVAL naming the option for a bad spec.
Result<SimConfig> makeExperiment(const ExperimentSpec& s);

/// One policy's run, summed over the VMs.
struct ExperimentSide {
  double meanTaskNs = 0;    ///< mean completion time of the parallel tasks
  double meanSerialNs = 0;  ///< mean completion time of the serial tasks
  double serialShare = 0;   ///< serial CPU time / serial wall time: the pCPU fraction vCPU 0 got
  Ns makespan = 0;          ///< when the last VM finished
  size_t tasks = 0;         ///< parallel tasks finished (VMs x 4 when complete)
  size_t serialTasks = 0;
  double busy = 0;          ///< VMs' running time / (pCPUs x makespan): how busy the machine was
  bool complete = false;    ///< every VM finished every task
  uint64_t hintErrors = 0;
  uint64_t traceHash = 0;
};
ExperimentSide summarize(const SimReport& r, unsigned pcpus);

/// Both policies on one spec.
struct ExperimentRow {
  ExperimentSpec spec;
  unsigned vcpus = 0;  ///< VMs' vCPUs, all together
  ExperimentSide credit, parallel;
  double reduction = 0;  ///< percent: (credit - parallel) / credit of the mean task time
  double target = 0;     ///< the published reduction for the job
  bool met = false;      ///< reduction >= target
};
Result<ExperimentRow> runExperiment(const ExperimentSpec& s);

/// A table of rows of one job.
Table experimentTable(ExperimentJob job, const std::vector<ExperimentRow>& rows);

}  // namespace smartvm::sched::sim
