#include "smartvm/sched/sim/Experiment.h"

#include <fmt/format.h>

#include <cmath>

#include "smartvm/sched/sim/Simulator.h"

namespace smartvm::sched::sim {
namespace {

/// Generous: far more than any policy that makes progress needs.
constexpr Ns kTimeLimit = 600 * kNsPerSec;

Status bad(const char* option, const std::string& why) { return error(EINVAL, fmt::format("{}: {}", option, why)); }

Result<ExperimentSide> runSide(const SimConfig& c, const char* policy, const Params& params) {
  SimConfig cc = c;
  cc.globalParams.clear();
  for (const auto& [k, v] : params)
    if (std::string_view(policy) == "parallel" || k.rfind("gang_", 0) != 0) cc.globalParams[k] = v;
  auto sim = Simulator::create(cc, policy);
  if (!sim.isOk()) return sim.status();
  auto r = (*sim)->run();
  if (!r.isOk()) return r.status();
  return summarize(*r, c.pcpus);
}

}  // namespace

const std::vector<JobShape>& experimentJobs() {
  // CPU time per task: dot 100 ms, pi 120 ms, rc4 120 ms, nbody 120 ms; each VM
  // also runs 2 serial tasks of 20 ms first.
  static const std::vector<JobShape> jobs = {
      {ExperimentJob::Dot, "dot", 50, 2 * kNsPerMs, 0.10, 25.61,
       "memory-bound streaming: many short layers (50 x 2 ms), little jitter"},
      {ExperimentJob::Pi, "pi", 4, 30 * kNsPerMs, 0.02, 23.06,
       "pure arithmetic: few long layers (4 x 30 ms), near-equal chunks"},
      {ExperimentJob::Rc4, "rc4", 12, 10 * kNsPerMs, 0.50, 28.60,
       "key search with early exits: medium layers (12 x 10 ms), +-50 % jitter"},
      {ExperimentJob::Nbody, "nbody", 30, 4 * kNsPerMs, 0.0, 26.27,
       "O(n^2) force sums per step: many layers (30 x 4 ms), equal chunks"},
  };
  return jobs;
}

const JobShape& jobShape(ExperimentJob j) { return experimentJobs()[static_cast<size_t>(j)]; }

Result<ExperimentJob> parseJob(std::string_view name) {
  for (const JobShape& s : experimentJobs())
    if (name == s.name) return s.job;
  return error(EINVAL, fmt::format("--job: unknown job '{}' (known: dot, pi, rc4, nbody, all)", name));
}

Result<SimConfig> makeExperiment(const ExperimentSpec& s) {
  if (s.pcpus == 0 || s.pcpus > kMaxPcpus) return bad("--pcpus", fmt::format("must be in 1..{}", kMaxPcpus));
  if (s.vms == 0 || s.vms > 1000) return bad("--vms", fmt::format("must be in 1..1000 (got {})", s.vms));
  if (s.vcpusPerVm && (*s.vcpusPerVm == 0 || *s.vcpusPerVm > 64))
    return bad("--vcpus-per-domain", "must be in 1..64");
  if (s.switchCost < 0) return bad("--switch-cost-us", "must be >= 0");
  const JobShape& job = jobShape(s.job);
  SimConfig c;
  c.pcpus = s.pcpus;
  c.duration = kTimeLimit;
  c.stopWhenDone = true;
  c.seed = s.seed;
  c.switchCost = s.switchCost;
  c.globalParams = s.globalParams;
  for (unsigned i = 0; i < s.vms; ++i) {
    DomainSpec d;
    d.name = fmt::format("vm{}", i + 1);
    d.vcpus = s.vcpusPerVm.value_or(2 + i % 3);
    Workload w = Workload::parallel(job.layers, std::max<Ns>(1, job.layerWork / d.vcpus), kExperimentParallelTasks);
    w.chunkJitter = job.jitter;
    w.serialTasks = kExperimentSerialTasks;
    w.serialWork = kExperimentSerialWork;
    w.guestHints = s.guestHints;
    d.workload = std::move(w);
    c.domains.push_back(std::move(d));
  }
  for (unsigned i = 0; i < s.background; ++i) {
    DomainSpec d;
    d.name = fmt::format("bg{}", i + 1);
    d.vcpus = 2;
    d.workload = Workload::cpuBound();
    c.domains.push_back(std::move(d));
  }
  SMARTVM_TRY(validate(c));
  return c;
}

ExperimentSide summarize(const SimReport& r, unsigned pcpus) {
  ExperimentSide s;
  double task = 0, serial = 0, running = 0;
  bool all = true;
  for (const DomainReport& d : r.domains) {
    if (d.workload != Workload::Kind::Parallel) continue;
    for (Ns t : d.taskTimes) task += static_cast<double>(t);
    for (Ns t : d.serialTimes) serial += static_cast<double>(t);
    s.tasks += d.taskTimes.size();
    s.serialTasks += d.serialTimes.size();
    if (d.doneAt < 0) all = false;
    s.makespan = std::max(s.makespan, d.doneAt);
    running += static_cast<double>(d.total.running);
  }
  s.busy = s.makespan <= 0 ? 0 : running / (static_cast<double>(pcpus) * static_cast<double>(s.makespan));
  s.meanTaskNs = s.tasks == 0 ? 0 : task / static_cast<double>(s.tasks);
  s.meanSerialNs = s.serialTasks == 0 ? 0 : serial / static_cast<double>(s.serialTasks);
  s.serialShare = serial <= 0 ? 0 : static_cast<double>(kExperimentSerialWork) * static_cast<double>(s.serialTasks) / serial;
  s.complete = all;
  s.hintErrors = r.hintErrors;
  s.traceHash = r.traceHash;
  return s;
}

Result<ExperimentRow> runExperiment(const ExperimentSpec& s) {
  auto c = makeExperiment(s);
  if (!c.isOk()) return c.status();
  ExperimentRow row;
  row.spec = s;
  for (unsigned i = 0; i < s.vms; ++i) row.vcpus += c->domains[i].vcpus;
  auto credit = runSide(*c, "credit", s.globalParams);
  if (!credit.isOk()) return credit.status();
  auto parallel = runSide(*c, "parallel", s.globalParams);
  if (!parallel.isOk()) return parallel.status();
  row.credit = *credit;
  row.parallel = *parallel;
  row.target = jobShape(s.job).paperReduction;
  row.reduction = row.credit.meanTaskNs > 0 ? 100.0 * (row.credit.meanTaskNs - row.parallel.meanTaskNs) / row.credit.meanTaskNs : 0;
  row.met = row.credit.complete && row.parallel.complete && row.reduction >= row.target;
  return row;
}

Table experimentTable(ExperimentJob job, const std::vector<ExperimentRow>& rows) {
  const JobShape& j = jobShape(job);
  Table t{fmt::format("experiment: {} ({} layers x {} of work, jitter {:.0f} %), {} serial + {} parallel tasks per VM",
                      j.name, j.layers, formatNs(static_cast<double>(j.layerWork)), 100 * j.jitter,
                      kExperimentSerialTasks, kExperimentParallelTasks),
          {"VMs", "vCPUs", "pCPUs", "task credit", "task parallel", "reduction %", "target %", "result",
           "serial share credit %", "serial share parallel %", "makespan credit", "makespan parallel",
           "busy % credit / parallel"},
          {}};
  for (const ExperimentRow& r : rows) {
    const bool complete = r.credit.complete && r.parallel.complete;
    t.rows.push_back({std::to_string(r.spec.vms), std::to_string(r.vcpus), std::to_string(r.spec.pcpus),
                      formatNs(r.credit.meanTaskNs), formatNs(r.parallel.meanTaskNs),
                      fmt::format("{:.2f}", r.reduction), fmt::format("{:.2f}", r.target),
                      !complete ? "incomplete" : (r.met ? "met" : "not met"),
                      fmt::format("{:.1f}", 100 * r.credit.serialShare), fmt::format("{:.1f}", 100 * r.parallel.serialShare),
                      formatNs(static_cast<double>(r.credit.makespan)),
                      formatNs(static_cast<double>(r.parallel.makespan)),
                      fmt::format("{:.0f} / {:.0f}", 100 * r.credit.busy, 100 * r.parallel.busy)});
  }
  return t;
}

}  // namespace smartvm::sched::sim
