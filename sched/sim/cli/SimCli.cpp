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

void addOptions(CLI::App& app, Options& o, ScenarioKnobs& k) {
  app.add_option("--policy", o.policy, "Scheduler policy, by registered name")->capture_default_str();
  app.add_option("--scenario", o.scenario, "fairness | io | parallel | scale")->capture_default_str();
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
  if (Status s = simulate(k, o); !s.isOk()) {
    std::cerr << "smartvm-sched-sim: " << s.message() << "\n";
    return s.code() == EINVAL ? 2 : 1;
  }
  return 0;
}
