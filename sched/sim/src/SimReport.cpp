#include "smartvm/sched/sim/SimReport.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace smartvm::sched::sim {
namespace {

Ns rank(const std::vector<Ns>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  const auto r = static_cast<size_t>(std::ceil(q * n));
  return sorted[std::clamp<size_t>(r, 1, sorted.size()) - 1];
}

/// What a CPU-bound domain could have used at most: the time its vCPUs were
/// runnable (not paused or offline), and no more than its cap allows.
double limitOf(const DomainReport& d, Ns duration) {
  double limit = static_cast<double>(d.total.running + d.total.runnable);
  if (d.cap > 0) limit = std::min(limit, static_cast<double>(d.cap) / 100.0 * static_cast<double>(duration));
  return limit;
}

/// Splits `capacity` among `ds` by weight; a domain whose part would exceed
/// its limit gets the limit, and the rest is split again among the others.
std::vector<double> waterFill(const std::vector<DomainReport*>& ds, double capacity, Ns duration) {
  std::vector<double> alloc(ds.size(), -1.0);
  for (bool changed = true; changed;) {
    changed = false;
    double weights = 0;
    for (size_t i = 0; i < ds.size(); ++i)
      if (alloc[i] < 0) weights += static_cast<double>(std::max<int64_t>(ds[i]->weight, 1));
    for (size_t i = 0; i < ds.size() && weights > 0; ++i) {
      if (alloc[i] >= 0) continue;
      const double part = capacity * static_cast<double>(std::max<int64_t>(ds[i]->weight, 1)) / weights;
      if (part <= limitOf(*ds[i], duration)) continue;
      alloc[i] = limitOf(*ds[i], duration);
      capacity -= alloc[i];
      changed = true;
    }
    if (changed) continue;
    for (size_t i = 0; i < ds.size(); ++i)
      if (alloc[i] < 0) alloc[i] = capacity * static_cast<double>(std::max<int64_t>(ds[i]->weight, 1)) / weights;
  }
  return alloc;
}

std::string pct(double v) { return fmt::format("{:.2f}", 100.0 * v); }

}  // namespace

LatencyStats latencyStats(std::vector<Ns> samples) {
  LatencyStats s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.p50 = rank(samples, 0.50);
  s.p90 = rank(samples, 0.90);
  s.p99 = rank(samples, 0.99);
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  return s;
}

void computeShareTargets(SimReport& r) {
  const double total = static_cast<double>(r.pcpus) * static_cast<double>(r.duration);
  double capacity = total;
  std::vector<DomainReport*> cpu;
  for (DomainReport& d : r.domains) {
    if (d.workload == Workload::Kind::CpuBound) {
      cpu.push_back(&d);
    } else {
      capacity -= static_cast<double>(d.total.running);  // what the others left over
    }
  }
  const std::vector<double> alloc = waterFill(cpu, std::max(capacity, 0.0), r.duration);
  r.weightShareError.reset();
  for (size_t i = 0; i < cpu.size(); ++i) {
    cpu[i]->target = alloc[i] / total;
    if (*cpu[i]->target <= 0) continue;
    cpu[i]->relError = std::abs(cpu[i]->share - *cpu[i]->target) / *cpu[i]->target;
    r.weightShareError = std::max(r.weightShareError.value_or(0.0), *cpu[i]->relError);
  }
}

std::string formatNs(double ns) {
  const double a = std::abs(ns);
  if (a < 1e3) return fmt::format("{:.0f} ns", ns);
  if (a < 1e6) return fmt::format("{:.1f} us", ns / 1e3);
  if (a < 1e9) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string renderTable(const Table& t) {
  std::vector<size_t> w(t.head.size());
  for (size_t i = 0; i < t.head.size(); ++i) w[i] = t.head[i].size();
  for (const auto& row : t.rows)
    for (size_t i = 0; i < row.size() && i < w.size(); ++i) w[i] = std::max(w[i], row[i].size());
  auto line = [&w](const std::vector<std::string>& row) {
    std::string s = "|";
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string c = i < row.size() ? row[i] : "";
      s += " " + c + std::string(w[i] - c.size(), ' ') + " |";
    }
    return s + "\n";
  };
  std::string out = "\n## " + t.title + "\n" + line(t.head) + "|";
  for (size_t x : w) out += std::string(x + 2, '-') + "|";
  out += "\n";
  for (const auto& row : t.rows) out += line(row);
  return out;
}


// ---------------------------------------------------------------- JSON

namespace {

nlohmann::json toJson(const LatencyStats& s) {
  return {{"count", s.count}, {"p50_ns", s.p50}, {"p90_ns", s.p90}, {"p99_ns", s.p99}, {"max_ns", s.max}, {"mean_ns", s.mean}};
}

nlohmann::json toJson(const Runstate& r) {
  return {{"running_ns", r.running}, {"runnable_ns", r.runnable}, {"blocked_ns", r.blocked},
          {"paused_ns", r.paused}, {"offline_ns", r.offline}};
}

nlohmann::json toJson(const DomainReport& d, bool perVcpu) {
  nlohmann::json j = {{"domid", d.domid}, {"name", d.name}, {"workload", workloadName(d.workload)},
                      {"vcpus", d.vcpus}, {"weight", d.weight}, {"cap", d.cap}, {"runstate", toJson(d.total)},
                      {"share", d.share}, {"wake_latency", toJson(d.wakeLatency)}, {"task_times_ns", d.taskTimes}};
  j["target"] = d.target ? nlohmann::json(*d.target) : nlohmann::json(nullptr);
  j["rel_error"] = d.relError ? nlohmann::json(*d.relError) : nlohmann::json(nullptr);
  if (perVcpu) {
    j["vcpu_runstates"] = nlohmann::json::array();
    for (const Runstate& r : d.vcpuRunstates) j["vcpu_runstates"].push_back(toJson(r));
  }
  return j;
}

}  // namespace

nlohmann::json toJson(const SimReport& r, bool perVcpu) {
  nlohmann::json j = {{"policy", r.policy}, {"pcpus", r.pcpus}, {"vcpus", r.vcpus}, {"duration_ns", r.duration},
                      {"seed", r.seed}, {"switch_cost_ns", r.switchCost}, {"wake_latency", toJson(r.wakeLatency)},
                      {"events", r.events}, {"context_switches", r.contextSwitches},
                      {"hint_errors", r.hintErrors}, {"trace_hash", r.traceHash}, {"wall_seconds", r.wallSeconds}};
  j["decisions"] = {{"calls", r.decisions.calls}, {"mean_ns", r.decisions.meanNs}, {"max_ns", r.decisions.maxNs}};
  j["weight_share_error"] = r.weightShareError ? nlohmann::json(*r.weightShareError) : nlohmann::json(nullptr);
  if (r.hintErrors > 0) j["first_hint_error"] = r.firstHintError;
  j["domains"] = nlohmann::json::array();
  for (const DomainReport& d : r.domains) j["domains"].push_back(toJson(d, perVcpu));
  return j;
}

// ---------------------------------------------------------------- tables

namespace {

std::string latencyCell(const LatencyStats& s) { return s.count == 0 ? "-" : formatNs(static_cast<double>(s.p99)); }

Table summaryTable(const SimReport& r) {
  Table t{fmt::format("{} on {} pCPUs, {} vCPUs, {} simulated", r.policy, r.pcpus, r.vcpus, formatNs(static_cast<double>(r.duration))),
          {"metric", "value"}, {}};
  const LatencyStats& l = r.wakeLatency;
  t.rows = {
      {"weight-share error (max, CPU-bound)", r.weightShareError ? pct(*r.weightShareError) + " %" : "-"},
      {"wake latency p50 / p90 / p99 / max",
       l.count == 0 ? "-" : fmt::format("{} / {} / {} / {}", formatNs(static_cast<double>(l.p50)), formatNs(static_cast<double>(l.p90)),
                                        formatNs(static_cast<double>(l.p99)), formatNs(static_cast<double>(l.max)))},
      {"wake-ups measured", std::to_string(l.count)},
      {"doSchedule calls", std::to_string(r.decisions.calls)},
      {"doSchedule host cost mean / max", fmt::format("{} / {}", formatNs(r.decisions.meanNs), formatNs(static_cast<double>(r.decisions.maxNs)))},
      {"context switches", std::to_string(r.contextSwitches)},
      {"events", std::to_string(r.events)},
      {"wall time", fmt::format("{:.3f} s", r.wallSeconds)},
  };
  if (r.hintErrors > 0) t.rows.push_back({"work hints refused", fmt::format("{} (first: {})", r.hintErrors, r.firstHintError)});
  return t;
}

std::vector<std::string> domainRow(const SimReport& r, const DomainReport& d) {
  const double total = static_cast<double>(r.duration) * d.vcpus;
  const auto frac = [total](Ns x) { return pct(static_cast<double>(x) / total); };
  return {d.name, workloadName(d.workload), std::to_string(d.vcpus), std::to_string(d.weight),
          d.cap > 0 ? std::to_string(d.cap) : "-", pct(d.share), d.target ? pct(*d.target) : "-",
          d.relError ? pct(*d.relError) : "-", frac(d.total.runnable), frac(d.total.blocked), latencyCell(d.wakeLatency)};
}

Table domainTable(const SimReport& r, size_t maxRows) {
  Table t{"domains (share and target: % of the machine; runnable, blocked: % of the domain's vCPU time)",
          {"domain", "work", "vCPUs", "weight", "cap", "share %", "target %", "error %", "runnable %", "blocked %", "wake p99"},
          {}};
  for (size_t i = 0; i < r.domains.size() && i < maxRows; ++i) t.rows.push_back(domainRow(r, r.domains[i]));
  if (r.domains.size() > maxRows) t.rows.push_back({fmt::format("({} more)", r.domains.size() - maxRows)});
  return t;
}

Table taskTable(const SimReport& r, size_t maxRows) {
  Table t{"parallel tasks (completion time)", {"domain", "vCPUs", "tasks", "mean", "min", "max"}, {}};
  for (const DomainReport& d : r.domains) {
    if (d.workload != Workload::Kind::Parallel) continue;
    if (t.rows.size() == maxRows) break;
    const auto [lo, hi] = std::minmax_element(d.taskTimes.begin(), d.taskTimes.end());
    const double mean = d.taskTimes.empty() ? 0.0 : std::accumulate(d.taskTimes.begin(), d.taskTimes.end(), 0.0) / static_cast<double>(d.taskTimes.size());
    const bool none = d.taskTimes.empty();
    t.rows.push_back({d.name, std::to_string(d.vcpus), std::to_string(d.taskTimes.size()), none ? "-" : formatNs(mean),
                      none ? "-" : formatNs(static_cast<double>(*lo)), none ? "-" : formatNs(static_cast<double>(*hi))});
  }
  return t;
}

}  // namespace

std::vector<Table> reportTables(const SimReport& r, size_t maxDomainRows) {
  std::vector<Table> out{summaryTable(r), domainTable(r, maxDomainRows)};
  Table tasks = taskTable(r, maxDomainRows);
  if (!tasks.rows.empty()) out.push_back(std::move(tasks));
  return out;
}

}  // namespace smartvm::sched::sim
