#include "smartvm/sched/sim/SimConfig.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace smartvm::sched::sim {
namespace {

Status bad(const std::string& field, const std::string& why) { return error(EINVAL, field + ": " + why); }

Status checkDistribution(const std::string& field, const Distribution& d) {
  if (d.mean <= 0) return bad(field, fmt::format("mean must be > 0 ns (got {})", d.mean));
  return Status::ok();
}

Status checkParallel(const std::string& f, const Workload& w, unsigned vcpus) {
  if (w.layers == 0) return bad(f + ".layers", "a task needs at least one layer");
  if (w.chunk <= 0) return bad(f + ".chunk", fmt::format("must be > 0 ns (got {})", w.chunk));
  if (!(w.chunkJitter >= 0.0 && w.chunkJitter < 1.0))
    return bad(f + ".chunkJitter", fmt::format("must be in [0, 1) (got {})", w.chunkJitter));
  if (!w.chunks.empty() && w.chunks.size() != vcpus)
    return bad(f + ".chunks", fmt::format("needs one length per vCPU ({}), got {}", vcpus, w.chunks.size()));
  for (Ns c : w.chunks)
    if (c <= 0) return bad(f + ".chunks", fmt::format("lengths must be > 0 ns (got {})", c));
  if (w.taskGap < 0 || w.start < 0) return bad(f, "taskGap and start must be >= 0");
  if (w.serialTasks > 0 && w.serialWork <= 0)
    return bad(f + ".serialWork", fmt::format("must be > 0 ns (got {})", w.serialWork));
  return Status::ok();
}

Status checkWorkload(const std::string& f, const Workload& w, unsigned vcpus) {
  switch (w.kind) {
    case Workload::Kind::CpuBound:
      if (w.yieldEvery < 0) return bad(f + ".yieldEvery", "must be >= 0");
      return Status::ok();
    case Workload::Kind::Io:
      SMARTVM_TRY(checkDistribution(f + ".run", w.run));
      return checkDistribution(f + ".block", w.block);
    case Workload::Kind::Parallel:
      return checkParallel(f, w, vcpus);
  }
  return bad(f + ".kind", "unknown workload kind");
}

Status checkDomain(size_t i, const DomainSpec& d) {
  const std::string f = fmt::format("domains[{}]", i);
  if (d.vcpus == 0) return bad(f + ".vcpus", "a domain needs at least one vCPU");
  for (const PauseWindow& p : d.pauses)
    if (p.at < 0 || p.length <= 0) return bad(f + ".pauses", "a pause needs at >= 0 and length > 0");
  return checkWorkload(f + ".workload", d.workload, d.vcpus);
}

}  // namespace

Ns Distribution::sample(std::mt19937_64& rng) const {
  if (kind == Kind::Fixed) return std::max<Ns>(mean, 1);
  std::exponential_distribution<double> exp(1.0 / static_cast<double>(mean));
  return std::max<Ns>(static_cast<Ns>(std::llround(exp(rng))), 1);
}

Workload Workload::io(Distribution run, Distribution block) {
  Workload w;
  w.kind = Kind::Io;
  w.run = run;
  w.block = block;
  return w;
}

Workload Workload::parallel(unsigned layers, Ns chunk, unsigned tasks) {
  Workload w;
  w.kind = Kind::Parallel;
  w.layers = layers;
  w.chunk = chunk;
  w.tasks = tasks;
  return w;
}

unsigned totalVcpus(const SimConfig& c) {
  uint64_t n = 0;
  for (const DomainSpec& d : c.domains) n += d.vcpus;
  return static_cast<unsigned>(std::min<uint64_t>(n, UINT32_MAX));
}

Status validate(const SimConfig& c) {
  if (c.pcpus == 0 || c.pcpus > kMaxPcpus)
    return bad("pcpus", fmt::format("must be in 1..{} (got {})", kMaxPcpus, c.pcpus));
  if (c.duration <= 0) return bad("duration", fmt::format("must be > 0 ns (got {})", c.duration));
  if (c.switchCost < 0) return bad("switchCost", fmt::format("must be >= 0 ns (got {})", c.switchCost));
  if (c.domains.empty()) return bad("domains", "at least one domain is needed");
  for (size_t i = 0; i < c.domains.size(); ++i) SMARTVM_TRY(checkDomain(i, c.domains[i]));
  if (totalVcpus(c) > kMaxSimVcpus)
    return bad("domains", fmt::format("{} vCPUs in total, at most {}", totalVcpus(c), kMaxSimVcpus));
  return Status::ok();
}

const char* workloadName(Workload::Kind k) {
  switch (k) {
    case Workload::Kind::CpuBound: return "cpu";
    case Workload::Kind::Io: return "io";
    case Workload::Kind::Parallel: return "parallel";
  }
  return "unknown";
}

}  // namespace smartvm::sched::sim
