#pragma once
// smartvm-blk-bench: the result table (direct vs PV block in a guest, ratio,
// goal), the same as JSON, and a gnuplot bar chart of the ratios.
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "BlkBenchRunner.h"

namespace smartvm::blkbench {

/// One measure's figures over the repetitions (the median is reported).
struct Row {
  Measure measure;
  std::vector<Figure> direct;
  std::vector<Figure> pv;
  double directValue() const;  // median IOPS or MB/s
  double pvValue() const;
  /// PV / direct; 0 when either side is missing.
  double ratio() const;
  bool met() const { return ratio() >= measure.goal; }
};

class Report {
 public:
  explicit Report(const std::vector<Measure>& measures);
  Row& row(const std::string& name);
  const std::vector<Row>& rows() const { return rows_; }

  /// Markdown: measure | direct | PV block in guest | ratio | goal | met?
  void print(std::ostream& out, const std::string& directTool) const;
  nlohmann::json json(const nlohmann::json& config) const;
  /// <dir>/blk-bench.png: PV as a percentage of direct per measure, with the
  /// goals. The PNG's path, or "" (and why on stdout) without gnuplot.
  std::string plot(const std::string& dir) const;

 private:
  std::vector<Row> rows_;
};

}  // namespace smartvm::blkbench
