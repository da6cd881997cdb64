#pragma once
// smartvm-sched-bench: collects the runs, prints a markdown table per job and
// writes every sample as JSON.
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "SchedBenchTypes.h"

namespace smartvm::schedbench {

/// One (job, setting, policy), averaged over repetitions.
struct Cell {
  unsigned runs = 0;
  double meanS = 0;      // mean over VMs of total_ns (2 serial + 4 parallel tasks)
  double parallelS = 0;  // mean over VMs of parallel_ns: the 4 parallel tasks' completion time
  double taskS = 0;      // mean over VMs and tasks of one parallel task's task_ns
  double makespanS = 0;  // host wall time until the last VM powered off
  double serialShare = 0;
};

class Report {
 public:
  Report(std::vector<std::string> jobs, std::vector<Setting> settings, std::vector<std::string> policies);
  void add(RunSample s) { samples_.push_back(std::move(s)); }
  const std::vector<RunSample>& samples() const { return samples_; }
  const std::vector<std::string>& jobs() const { return jobs_; }
  const std::vector<Setting>& settings() const { return settings_; }
  const std::vector<std::string>& policies() const { return policies_; }
  Cell cell(const std::string& job, const Setting& s, const std::string& policy) const;

  /// Markdown: one table per job, then how the scheduler answered.
  void print(std::ostream& out) const;
  nlohmann::json json(const nlohmann::json& config) const;

 private:
  bool has(const std::string& policy) const;
  void printJob(std::ostream& out, const std::string& job) const;

  std::vector<std::string> jobs_;
  std::vector<Setting> settings_;
  std::vector<std::string> policies_;
  std::vector<RunSample> samples_;
};

/// Percent by which `after` is shorter than `before`; NaN when either is missing.
double reductionPct(double before, double after);

}  // namespace smartvm::schedbench
