#include "smartvm/sched/sim/Scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace smartvm::sched::sim {
namespace {

struct Defaults {
  unsigned pcpus, domains, vcpusPerDomain;
  double seconds;
};

Defaults defaultsFor(ScenarioKind k) {
  switch (k) {
    case ScenarioKind::Fairness: return {2, 4, 2, 10};
    case ScenarioKind::Io: return {2, 4, 2, 10};
    case ScenarioKind::Parallel: return {4, 4, 4, 10};
    case ScenarioKind::Scale: return {256, 1000, 10, 1};
    case ScenarioKind::Experiment: return {2, 4, 3, 600};
  }
  return {1, 1, 1, 1};
}

Status bad(const char* option, const std::string& why) { return error(EINVAL, fmt::format("{}: {}", option, why)); }

/// A per-domain list: empty, one value for all, or exactly one per domain.
Status checkList(const char* option, const std::vector<int64_t>& v, unsigned domains, int64_t min) {
  if (v.size() > 1 && v.size() != domains)
    return bad(option, fmt::format("{} values for {} domains (give one for all, or one per domain)", v.size(), domains));
  for (int64_t x : v)
    if (x < min) return bad(option, fmt::format("values must be >= {} (got {})", min, x));
  return Status::ok();
}

Status checkKnobs(const ScenarioKnobs& k, const Defaults& d) {
  const unsigned pcpus = k.pcpus.value_or(d.pcpus), domains = k.domains.value_or(d.domains);
  const unsigned vpd = k.vcpusPerDomain.value_or(d.vcpusPerDomain);
  const double seconds = k.seconds.value_or(d.seconds);
  if (pcpus == 0 || pcpus > kMaxPcpus) return bad("--pcpus", fmt::format("must be in 1..{} (got {})", kMaxPcpus, pcpus));
  if (domains == 0) return bad("--domains", "must be >= 1");
  if (vpd == 0) return bad("--vcpus-per-domain", "must be >= 1");
  if (static_cast<uint64_t>(domains) * vpd > kMaxSimVcpus)
    return bad("--domains", fmt::format("{} domains x {} vCPUs = {} vCPUs, at most {}", domains, vpd,
                                        static_cast<uint64_t>(domains) * vpd, kMaxSimVcpus));
  if (!(seconds > 0 && seconds <= 3600)) return bad("--seconds", fmt::format("must be in (0, 3600] (got {})", seconds));
  if (k.switchCost < 0) return bad("--switch-cost-us", "must be >= 0");
  SMARTVM_TRY(checkList("--weights", k.weights, domains, 1));
  return checkList("--caps", k.caps, domains, 0);
}

/// What domain `i` runs in scenario `k`.
Workload workloadFor(ScenarioKind k, unsigned i) {
  using D = Distribution;
  const Workload io = Workload::io(D::exponential(500 * kNsPerUs), D::exponential(5 * kNsPerMs));
  Workload par = Workload::parallel(10, 2 * kNsPerMs, 0);
  par.chunkJitter = 0.2;
  switch (k) {
    case ScenarioKind::Fairness: return Workload::cpuBound();
    case ScenarioKind::Io: return i % 2 == 0 ? io : Workload::cpuBound();
    case ScenarioKind::Parallel: return i % 2 == 0 ? par : Workload::cpuBound();
    case ScenarioKind::Scale: break;
    case ScenarioKind::Experiment: break;  // makeExperiment
  }
  // Scale: a quarter each of parallel tasks, CPU-bound, and two I/O mixes.
  par.layers = 5;
  par.chunk = kNsPerMs;
  par.chunkJitter = 0.3;
  par.taskGap = 10 * kNsPerMs;
  if (i % 4 == 0) return par;
  if (i % 4 == 3) return Workload::cpuBound();
  return Workload::io(D::exponential(i % 4 == 1 ? kNsPerMs : 200 * kNsPerUs), D::exponential(20 * kNsPerMs));
}

int64_t pick(const std::vector<int64_t>& v, unsigned i) { return v.size() == 1 ? v[0] : v[i]; }

}  // namespace

Result<ScenarioKind> parseScenario(std::string_view name) {
  for (ScenarioKind k : {ScenarioKind::Fairness, ScenarioKind::Io, ScenarioKind::Parallel, ScenarioKind::Scale,
                         ScenarioKind::Experiment})
    if (name == scenarioName(k)) return k;
  return error(EINVAL,
               fmt::format("--scenario: unknown scenario '{}' (known: fairness, io, parallel, scale, experiment)", name));
}

const char* scenarioName(ScenarioKind k) {
  switch (k) {
    case ScenarioKind::Fairness: return "fairness";
    case ScenarioKind::Io: return "io";
    case ScenarioKind::Parallel: return "parallel";
    case ScenarioKind::Scale: return "scale";
    case ScenarioKind::Experiment: return "experiment";
  }
  return "unknown";
}

/// The experiment: its own builder; --domains counts VMs, --seconds is only a limit.
static Result<SimConfig> makeExperimentScenario(const ScenarioKnobs& k, const Defaults& d) {
  if (!k.weights.empty() || !k.caps.empty())
    return error(EINVAL, "--weights/--caps: the experiment scenario runs its VMs at the defaults");
  ExperimentSpec s;
  s.job = k.job;
  s.vms = k.domains.value_or(d.domains);
  s.pcpus = k.pcpus.value_or(d.pcpus);
  s.vcpusPerVm = k.vcpusPerDomain;
  s.background = k.background;
  s.seed = k.seed;
  s.switchCost = k.switchCost;
  s.globalParams = k.globalParams;
  auto c = makeExperiment(s);
  if (!c.isOk()) return c.status();
  if (k.seconds) c->duration = static_cast<Ns>(std::llround(*k.seconds * static_cast<double>(kNsPerSec)));
  SMARTVM_TRY(validate(*c));
  return c;
}

Result<SimConfig> makeScenario(const ScenarioKnobs& k) {
  const Defaults d = defaultsFor(k.kind);
  SMARTVM_TRY(checkKnobs(k, d));
  if (k.kind == ScenarioKind::Experiment) return makeExperimentScenario(k, d);
  SimConfig c;
  c.pcpus = k.pcpus.value_or(d.pcpus);
  c.duration = static_cast<Ns>(std::llround(k.seconds.value_or(d.seconds) * static_cast<double>(kNsPerSec)));
  c.seed = k.seed;
  c.switchCost = k.switchCost;
  c.globalParams = k.globalParams;
  const unsigned domains = k.domains.value_or(d.domains);
  for (unsigned i = 0; i < domains; ++i) {
    DomainSpec s;
    s.workload = workloadFor(k.kind, i);
    s.name = fmt::format("{}{}", workloadName(s.workload.kind), i + 1);
    s.vcpus = k.vcpusPerDomain.value_or(d.vcpusPerDomain);
    if (!k.weights.empty()) s.params["weight"] = pick(k.weights, i);
    if (!k.caps.empty()) s.params["cap"] = pick(k.caps, i);
    c.domains.push_back(std::move(s));
  }
  SMARTVM_TRY(validate(c));
  return c;
}

Result<std::vector<SimConfig>> scaleSweep(const ScenarioKnobs& k) {
  auto full = makeScenario(k);
  if (!full.isOk()) return full.status();
  const size_t all = full->domains.size();
  std::vector<SimConfig> out;
  for (size_t div : {64, 16, 4, 1}) {
    const size_t n = all / div;
    if (n == 0 || (!out.empty() && out.back().domains.size() == n)) continue;
    SimConfig c = *full;
    c.domains.resize(n);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace smartvm::sched::sim
