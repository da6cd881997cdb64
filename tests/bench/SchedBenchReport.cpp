// smartvm-sched-bench: markdown tables and JSON.
#include "SchedBenchReport.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "SchedBenchJobs.h"

namespace smartvm::schedbench {
namespace {

std::string fmt(double v, int prec) {
  if (std::isnan(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

std::string pct(double v) { return std::isnan(v) ? "-" : fmt(v, 1) + "%"; }

void printTable(std::ostream& out, const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s = "|";
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string c = i < r.size() ? r[i] : "";
      s += " " + c + std::string(w[i] - c.size(), ' ') + " |";
    }
    out << s << "\n";
  };
  line(head);
  std::string sep = "|";
  for (size_t x : w) sep += std::string(x + 2, '-') + "|";
  out << sep << "\n";
  for (const auto& r : rows) line(r);
}

}  // namespace

double reductionPct(double before, double after) {
  if (std::isnan(before) || std::isnan(after) || before <= 0) return NAN;
  return (before - after) / before * 100.0;
}

Report::Report(std::vector<std::string> jobs, std::vector<Setting> settings, std::vector<std::string> policies)
    : jobs_(std::move(jobs)), settings_(std::move(settings)), policies_(std::move(policies)) {}

bool Report::has(const std::string& policy) const {
  return std::find(policies_.begin(), policies_.end(), policy) != policies_.end();
}

Cell Report::cell(const std::string& job, const Setting& s, const std::string& policy) const {
  Cell c;
  for (const auto& r : samples_) {
    if (r.job != job || r.policy != policy || r.setting.vms != s.vms || r.setting.vcpus != s.vcpus) continue;
    ++c.runs;
    c.meanS += r.meanTotalS();
    c.parallelS += r.meanParallelS();
    c.taskS += r.meanTaskS();
    c.makespanS += r.makespanS;
    c.serialShare += r.serialShare();
  }
  if (c.runs == 0) return {0, NAN, NAN, NAN, NAN, NAN};
  const double n = c.runs;
  return {c.runs, c.meanS / n, c.parallelS / n, c.taskS / n, c.makespanS / n, c.serialShare / n};
}

void Report::printJob(std::ostream& out, const std::string& job) const {
  const JobSpec* spec = findJob(job);
  const double target = spec ? spec->targetPct : NAN;
  const bool none = has("none");
  std::vector<std::string> head{"setting",
                                "credit tasks (s)",
                                "parallel tasks (s)",
                                "reduction",
                                "target",
                                "met?",
                                "per task credit / parallel (s)",
                                "credit total (s)",
                                "parallel total (s)",
                                "total reduction",
                                "credit makespan (s)",
                                "parallel makespan (s)",
                                "makespan reduction",
                                "serial share credit / parallel"};
  if (none) {
    head.push_back("none tasks (s)");
    head.push_back("none makespan (s)");
  }
  std::vector<std::vector<std::string>> rows;
  for (const Setting& s : settings_) {
    const Cell c = cell(job, s, "credit"), p = cell(job, s, "parallel");
    if (c.runs == 0 && p.runs == 0 && (!none || cell(job, s, "none").runs == 0)) continue;
    const double red = reductionPct(c.parallelS, p.parallelS);
    std::vector<std::string> row{s.label(),
                                 fmt(c.parallelS, 3),
                                 fmt(p.parallelS, 3),
                                 pct(red),
                                 pct(target),
                                 std::isnan(red) ? "-" : (red >= target ? "met" : "not met"),
                                 fmt(c.taskS, 3) + " / " + fmt(p.taskS, 3),
                                 fmt(c.meanS, 3),
                                 fmt(p.meanS, 3),
                                 pct(reductionPct(c.meanS, p.meanS)),
                                 fmt(c.makespanS, 3),
                                 fmt(p.makespanS, 3),
                                 pct(reductionPct(c.makespanS, p.makespanS)),
                                 pct(c.serialShare * 100) + " / " + pct(p.serialShare * 100)};
    if (none) {
      const Cell h = cell(job, s, "none");
      row.push_back(fmt(h.parallelS, 3));
      row.push_back(fmt(h.makespanS, 3));
    }
    rows.push_back(std::move(row));
  }
  out << "\n## " << job << ": completion time of the parallel tasks under credit vs parallel (published target: "
      << pct(target) << " shorter)\n";
  printTable(out, head, rows);
}

void Report::print(std::ostream& out) const {
  for (const auto& j : jobs_) printJob(out, j);
  out << "\ntasks = completion time of a VM's " << kParallelTasks
      << " parallel tasks: the guest's parallel_ns (first task's release to the last task's last barrier, "
         "Xen system time), mean over the VMs;\n"
         "reduction = (credit - parallel) / credit of tasks; met = that reduction >= target; per task = mean over "
         "VMs and tasks of task_ns;\n"
         "total = mean over the VMs of total_ns ("
      << kSerialTasks << " serial + " << kParallelTasks
      << " parallel tasks); makespan = host wall time from unpausing all VMs to the last poweroff (boot and setup "
         "included);\nserial share = serial_ns / total_ns.\n";
  // How the hypervisor answered: a policy that is not wired schedules nothing.
  std::set<std::string> lines;
  for (const auto& r : samples_) {
    std::set<std::string> rcs;
    for (const auto& v : r.vms) rcs.insert(v.hintRc);
    std::string hint;
    for (const auto& h : rcs) hint += (hint.empty() ? "" : ",") + h;
    lines.insert("policy " + r.policy + ": active '" + r.policyActive + "', scheduler " +
                 (r.schedulerWired ? "answers" : "does NOT answer") + " schedGlobalParams(), hint_rc " + hint);
  }
  for (const auto& l : lines) out << l << "\n";
  bool anyWired = false;
  for (const auto& r : samples_) anyWired |= r.schedulerWired && r.policy != "none";
  if (!anyWired && !samples_.empty())
    out << "NOTE: the scheduler is not wired into the hypervisor in this build: every policy runs the vCPUs as "
           "free threads, so credit and parallel differ by noise only.\n";
}

nlohmann::json Report::json(const nlohmann::json& config) const {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : samples_) {
    nlohmann::json vms = nlohmann::json::array();
    for (const auto& v : r.vms)
      vms.push_back({{"index", v.index}, {"domid", v.domid}, {"serial_ns", v.serialNs}, {"parallel_ns", v.parallelNs},
                     {"total_ns", v.totalNs}, {"task_ns", v.taskNs}, {"work_ns", v.workNs}, {"value", v.value},
                     {"task_values", v.taskValues}, {"hint_rc", v.hintRc},
                     {"host_done_s", v.hostDoneS}});
    runs.push_back({{"job", r.job}, {"vms", r.setting.vms}, {"vcpus", r.setting.vcpus}, {"policy", r.policy},
                    {"policy_active", r.policyActive}, {"scheduler_wired", r.schedulerWired}, {"rep", r.rep},
                    {"makespan_s", r.makespanS}, {"mean_total_s", r.meanTotalS()},
                    {"mean_parallel_s", r.meanParallelS()}, {"mean_task_s", r.meanTaskS()},
                    {"serial_share", r.serialShare()}, {"samples", vms}});
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& j : jobs_) {
    const JobSpec* spec = findJob(j);
    for (const Setting& s : settings_) {
      nlohmann::json row{{"job", j}, {"vms", s.vms}, {"vcpus", s.vcpus}, {"target_pct", spec ? spec->targetPct : 0}};
      for (const auto& p : policies_) {
        const Cell c = cell(j, s, p);
        if (c.runs == 0) continue;
        row[p] = {{"mean_s", c.meanS}, {"parallel_s", c.parallelS}, {"task_s", c.taskS},
                  {"makespan_s", c.makespanS}, {"serial_share", c.serialShare}, {"runs", c.runs}};
      }
      // reduction_pct is of parallel_s (the parallel tasks' completion time), as the table's.
      const double red = reductionPct(cell(j, s, "credit").parallelS, cell(j, s, "parallel").parallelS);
      const double totalRed = reductionPct(cell(j, s, "credit").meanS, cell(j, s, "parallel").meanS);
      if (!std::isnan(totalRed)) row["total_reduction_pct"] = totalRed;
      if (!std::isnan(red)) {
        row["reduction_pct"] = red;
        row["target_met"] = spec && red >= spec->targetPct;
      }
      summary.push_back(std::move(row));
    }
  }
  return {{"config", config}, {"summary", summary}, {"runs", runs}};
}

}  // namespace smartvm::schedbench
