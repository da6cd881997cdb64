// smartvm-blk-bench: the table and the JSON.
#include "BlkBenchReport.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace smartvm::blkbench {
namespace {

double median(const Measure& m, const std::vector<Figure>& figures) {
  std::vector<double> v;
  for (const Figure& f : figures) v.push_back(f.value(m));
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string fmt(double v, int decimals) {
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

nlohmann::json figures(const Measure& m, const std::vector<Figure>& fs) {
  nlohmann::json a = nlohmann::json::array();
  for (const Figure& f : fs)
    a.push_back({{"ops", f.ops}, {"bytes", f.bytes}, {"seconds", f.seconds}, {"value", f.value(m)}, {"detail", f.detail},
                 {"requests", f.requests}, {"guest_exits", f.exits}, {"hypercalls", f.hypercalls},
                 {"hv_exit_handling_s", f.hvSeconds}, {"exit_counts", f.exitCounts}});
  return a;
}

}  // namespace

double Row::directValue() const { return median(measure, direct); }
double Row::pvValue() const { return median(measure, pv); }
double Row::ratio() const {
  const double d = directValue();
  return d > 0 ? pvValue() / d : 0;
}

Report::Report(const std::vector<Measure>& measures) {
  for (const Measure& m : measures) rows_.push_back({m, {}, {}});
}

Row& Report::row(const std::string& name) {
  for (Row& r : rows_)
    if (r.measure.name == name) return r;
  throw std::out_of_range("no measure " + name);
}

void Report::print(std::ostream& out, const std::string& directTool) const {
  out << "\n| measure | direct (" << directTool << ") | PV block in guest | ratio | goal | met? |\n"
      << "|---|---|---|---|---|---|\n";
  for (const Row& r : rows_) {
    const int decimals = r.measure.iops() ? 0 : 1;
    out << "| " << r.measure.label() << " (" << r.measure.unit() << ") | " << fmt(r.directValue(), decimals) << " | "
        << fmt(r.pvValue(), decimals) << " | " << fmt(100 * r.ratio(), 1) << " % | " << fmt(100 * r.measure.goal, 0)
        << " % | " << (r.met() ? "met" : "missed") << " |\n";
  }
  out.flush();
}

nlohmann::json Report::json(const nlohmann::json& config) const {
  nlohmann::json measures = nlohmann::json::array();
  for (const Row& r : rows_)
    measures.push_back({{"name", r.measure.name}, {"label", r.measure.label()}, {"unit", r.measure.unit()},
                        {"bs", r.measure.bs}, {"goal", r.measure.goal}, {"direct", r.directValue()},
                        {"pv", r.pvValue()}, {"ratio", r.ratio()}, {"met", r.met()},
                        {"direct_runs", figures(r.measure, r.direct)}, {"pv_runs", figures(r.measure, r.pv)}});
  return {{"config", config}, {"measures", measures}};
}

}  // namespace smartvm::blkbench
