#pragma once
// smartvm-sched-bench: bar charts of completion times with gnuplot, one PNG per job.
#include <string>
#include <vector>

#include "SchedBenchReport.h"

namespace smartvm::schedbench {

class Plotter {
 public:
  explicit Plotter(std::string outDir) : outDir_(std::move(outDir)) {}
  /// gnuplot on PATH, or empty.
  static std::string findGnuplot();
  /// Writes <out>/sched-<job>.png (and its .dat/.gp) for every job; returns the
  /// PNGs written. Prints why and writes nothing without gnuplot.
  std::vector<std::string> plot(const Report& report) const;

 private:
  std::string plotJob(const Report& report, const std::string& job, const std::string& gnuplot) const;
  std::string outDir_;
};

}  // namespace smartvm::schedbench
