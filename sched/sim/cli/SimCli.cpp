// smartvm-sched-sim: runs a scheduler policy from PolicyRegistry::builtin()
// through a canned scenario on simulated time and prints what it measured.
// See sched/sim/README.md. Exit status: 0 done, 1 the simulation failed,
// 2 bad command line. CLI11's exceptions stay in this file.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "smartvm/sched/sim/Scenario.h"
#include "smartvm/sched/sim/Simulator.h"

using namespace smartvm;
using namespace smartvm::sched;
using namespace smartvm::sched::sim;

namespace {

struct Options {
  std::string policy = "credit";
  std::string scenario = "fairness";
  std::vector<std::string> params;
  double switchCostUs = 0;
  std::string json;
  bool perVcpu = false;
  bool quiet = false;
  size_t maxRows = 24;
  std::string job = "all";              ///< experiment
  std::vector<unsigned> vms{2, 4, 8};   ///< experiment
  bool eagerHints = false;              ///< experiment
};

/// Progress on stderr, a line per 10% of simulated time, once a run has taken
/// half a second of wall time (short runs stay quiet).
Simulator::ProgressFn progressPrinter(const std::string& label, bool quiet) {
  if (quiet) return {};
  const auto t0 = std::chrono::steady_clock::now();
  return [label, t0](unsigned percent) {
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
    if (wall.count() < 0.5) return;
    std::cerr << fmt::format("smartvm-sched-sim: {} {:3}% ({:.1f} s)\n", label, percent, wall.count());
  };
}

/// --param KEY=VALUE, repeated, into global policy params.
Status parseParams(const std::vector<std::string>& in, Params& out) {
  for (const std::string& p : in) {
    const size_t eq = p.find('=');
    if (eq == 0 || eq == std::string::npos) return error(EINVAL, fmt::format("--param: expected KEY=VALUE, got '{}'", p));
    const std::string value = p.substr(eq + 1);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty())
      return error(EINVAL, fmt::format("--param: '{}' is not an integer in '{}'", value, p));
    out[p.substr(0, eq)] = v;
  }
  return Status::ok();
}

Status checkPolicy(const std::string& name) {
  const std::vector<std::string> known = PolicyRegistry::builtin().names();
  if (std::find(known.begin(), known.end(), name) != known.end()) return Status::ok();
  return error(ENOENT, fmt::format("--policy: unknown policy '{}' (known: {})", name, fmt::join(known, ", ")));
}

Result<SimReport> runOne(const SimConfig& c, const Options& o, const std::string& label) {
  auto sim = Simulator::create(c, o.policy);
  if (!sim.isOk()) return sim.status();
  return (*sim)->run(progressPrinter(label, o.quiet));
}

void printReport(const SimReport& r, size_t maxRows) {
  for (const Table& t : reportTables(r, maxRows)) std::cout << renderTable(t);
}

Table sweepTable(const std::vector<SimReport>& runs) {
  Table t{"host cost of one scheduling decision (doSchedule) by vCPU count",
          {"vCPUs", "domains", "doSchedule calls", "mean", "max", "events", "wall"}, {}};
  for (const SimReport& r : runs)
    t.rows.push_back({std::to_string(r.vcpus), std::to_string(r.domains.size()), std::to_string(r.decisions.calls),
                      formatNs(r.decisions.meanNs), formatNs(static_cast<double>(r.decisions.maxNs)),
                      std::to_string(r.events), fmt::format("{:.2f} s", r.wallSeconds)});
  return t;
}

Status writeJson(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  if (!out) return error(EIO, fmt::format("--json: cannot write '{}'", path));
  out << j.dump(2) << "\n";
  return out ? Status::ok() : error(EIO, fmt::format("--json: writing '{}' failed", path));
}

/// Runs the scenario (for scale: each step of the sweep) and prints it.
Status simulate(const ScenarioKnobs& k, const Options& o) {
  std::vector<SimConfig> configs;
  if (k.kind == ScenarioKind::Scale) {
    auto sweep = scaleSweep(k);
    if (!sweep.isOk()) return sweep.status();
    configs = std::move(sweep).value();
  } else {
    auto c = makeScenario(k);
    if (!c.isOk()) return c.status();
    configs.push_back(std::move(c).value());
  }
  std::vector<SimReport> runs;
  nlohmann::json j = {{"scenario", scenarioName(k.kind)}, {"runs", nlohmann::json::array()}};
  for (const SimConfig& c : configs) {
    auto r = runOne(c, o, fmt::format("{} vCPUs", totalVcpus(c)));
    if (!r.isOk()) return r.status();
    j["runs"].push_back(toJson(*r, o.perVcpu));
    runs.push_back(std::move(r).value());
  }
  printReport(runs.back(), o.maxRows);
  if (runs.size() > 1) std::cout << renderTable(sweepTable(runs));
  return o.json.empty() ? Status::ok() : writeJson(o.json, j);
}

/// The experiment: every job asked for, at every VM count and pCPU count
/// (--pcpus, or 2, 4 and 8), under credit and parallel; a table per job.
Status experiment(const ScenarioKnobs& k, const Options& o) {
  std::vector<ExperimentJob> jobs;
  if (o.job == "all") {
    for (const JobShape& j : experimentJobs()) jobs.push_back(j.job);
  } else {
    auto j = parseJob(o.job);
    if (!j.isOk()) return j.status();
    jobs.push_back(*j);
  }
  if (o.vms.empty()) return error(EINVAL, "--vms: give at least one VM count");
  const std::vector<unsigned> pcpus = k.pcpus ? std::vector<unsigned>{*k.pcpus} : std::vector<unsigned>{2, 4, 8};
  if (!k.weights.empty() || !k.caps.empty())
    return error(EINVAL, "--weights/--caps: the experiment scenario runs its VMs at the defaults");
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json j = {{"scenario", "experiment"}, {"rows", nlohmann::json::array()}};
  Table shapes{"job shapes (per parallel task; a layer's work is split evenly over the VM's vCPUs)",
               {"job", "layers", "layer work", "jitter", "published reduction %", "why"}, {}};
  for (ExperimentJob job : jobs) {
    const JobShape& s = jobShape(job);
    shapes.rows.push_back({s.name, std::to_string(s.layers), formatNs(static_cast<double>(s.layerWork)),
                           fmt::format("{:.0f} %", 100 * s.jitter), fmt::format("{:.2f}", s.paperReduction), s.why});
  }
  std::cout << renderTable(shapes);
  for (ExperimentJob job : jobs) {
    std::vector<ExperimentRow> rows;
    for (unsigned p : pcpus) {
      for (unsigned vms : o.vms) {
        ExperimentSpec spec;
        spec.job = job;
        spec.vms = vms;
        spec.pcpus = p;
        spec.vcpusPerVm = k.vcpusPerDomain;
        spec.background = k.background;
        spec.seed = k.seed;
        spec.switchCost = k.switchCost;
        spec.globalParams = k.globalParams;
        spec.guestHints = !o.eagerHints;
        auto r = runExperiment(spec);
        if (!r.isOk()) return r.status();
        if (!o.quiet)
          std::cerr << fmt::format("smartvm-sched-sim: {} {} VMs on {} pCPUs: {:.2f} % ({})\n", jobShape(job).name, vms, p,
                                   r->reduction, r->met ? "met" : "not met");
        j["rows"].push_back({{"job", jobShape(job).name}, {"vms", vms}, {"vcpus", r->vcpus}, {"pcpus", p},
                             {"credit_task_ns", r->credit.meanTaskNs}, {"parallel_task_ns", r->parallel.meanTaskNs},
                             {"reduction_pct", r->reduction}, {"target_pct", r->target}, {"met", r->met},
                             {"credit_serial_share", r->credit.serialShare},
                             {"parallel_serial_share", r->parallel.serialShare},
                             {"credit_makespan_ns", r->credit.makespan}, {"parallel_makespan_ns", r->parallel.makespan},
                             {"hint_errors", r->parallel.hintErrors},
                             {"credit_complete", r->credit.complete}, {"parallel_complete", r->parallel.complete},
                             {"credit_busy", r->credit.busy}, {"parallel_busy", r->parallel.busy}});
        rows.push_back(std::move(r).value());
      }
    }
    std::cout << renderTable(experimentTable(job, rows));
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
  std::cout << fmt::format("wall time {:.2f} s, seed {}, hints {}\n", wall.count(), k.seed,
                           o.eagerHints ? "eager (at task start/end)" : "as a guest sends them");
  return o.json.empty() ? Status::ok() : writeJson(o.json, j);
}

void addOptions(CLI::App& app, Options& o, ScenarioKnobs& k) {
  app.add_option("--policy", o.policy, "Scheduler policy, by registered name")->capture_default_str();
  app.add_option("--scenario", o.scenario, "fairness | io | parallel | scale | experiment")->capture_default_str();
  app.add_option("--job", o.job, "experiment: dot | pi | rc4 | nbody | all")->capture_default_str();
  app.add_option("--vms", o.vms, "experiment: VM counts (comma-separated)")->delimiter(',')->capture_default_str();
  app.add_flag("--eager-hints", o.eagerHints,
               "experiment: every vCPU's Begin/End at the task's start/end, not when the vCPU runs");
  app.add_option("--background", k.background, "experiment: CPU-bound 2-vCPU domains besides the VMs")
      ->capture_default_str();
  app.add_option("--pcpus", k.pcpus, "pCPUs, 1..256 (default per scenario)");
  app.add_option("--domains", k.domains, "Domains (default per scenario)");
  app.add_option("--vcpus-per-domain", k.vcpusPerDomain, "vCPUs per domain (default per scenario)");
  app.add_option("--seconds", k.seconds, "Simulated seconds (default per scenario)");
  app.add_option("--seed", k.seed, "Seed of the workloads' random draws")->capture_default_str();
  app.add_option("--weights", k.weights, "Domain weights: one for all, or one per domain (comma-separated)")
      ->delimiter(',');
  app.add_option("--caps", k.caps, "Domain caps in % of a pCPU (0 = none): one for all, or one per domain")
      ->delimiter(',');
  app.add_option("--switch-cost-us", o.switchCostUs, "Context-switch cost in microseconds")->capture_default_str();
  app.add_option("--param", o.params, "Global policy parameter KEY=VALUE (repeatable)");
  app.add_option("--json", o.json, "Also write the full report(s) to this JSON file");
  app.add_flag("--per-vcpu", o.perVcpu, "Include per-vCPU runstates in the JSON");
  app.add_option("--max-rows", o.maxRows, "Domain rows printed per table")->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "No progress lines on stderr");
}

Status buildKnobs(const Options& o, ScenarioKnobs& k) {
  auto kind = parseScenario(o.scenario);
  if (!kind.isOk()) return kind.status();
  k.kind = *kind;
  if (!(o.switchCostUs >= 0)) return error(EINVAL, "--switch-cost-us: must be >= 0");
  k.switchCost = static_cast<Ns>(std::llround(o.switchCostUs * static_cast<double>(kNsPerUs)));
  SMARTVM_TRY(parseParams(o.params, k.globalParams));
  return checkPolicy(o.policy);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smartvm-sched-sim: a scheduler policy on simulated time, through a synthetic scenario"};
  Options o;
  ScenarioKnobs k;
  addOptions(app, o, k);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (Status s = buildKnobs(o, k); !s.isOk()) {
    std::cerr << "smartvm-sched-sim: " << s.message() << "\n";
    return 2;
  }
  if (Status s = k.kind == ScenarioKind::Experiment ? experiment(k, o) : simulate(k, o); !s.isOk()) {
    std::cerr << "smartvm-sched-sim: " << s.message() << "\n";
    return s.code() == EINVAL ? 2 : 1;
  }
  return 0;
}
