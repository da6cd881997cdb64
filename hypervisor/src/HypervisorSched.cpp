// The hypervisor's side of the vCPU scheduler: choosing the policy and pCPUs
// at start, registering domains with their config, and the controls behind
// `smartvm sched-credit`, `sched-parallel`, `vcpu-pin` and `vcpu-list`.
#include "smartvm/hv/Hypervisor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "smartvm/sched/CpuList.h"

namespace smartvm::hv {

namespace {

constexpr const char* kNoScheduler = "none";

/// Host cores for the pCPUs: `list` (an xl CPU list over the host's CPU
/// numbers) intersected with what this process may use.
Result<std::vector<unsigned>> pcpuCoresFor(const std::string& list) {
  const std::vector<unsigned> allowed = allowedHostCores();
  if (allowed.empty()) return error(EINVAL, "cannot read this process's CPU affinity");
  if (list.empty()) return allowed;
  const unsigned limit = allowed.back() + 1;
  auto mask = sched::parseCpuList(list, limit);
  if (!mask.isOk()) return error(EINVAL, "--pcpus: " + mask.status().message());
  std::vector<unsigned> cores;
  for (unsigned c = 0; c < limit; ++c) {
    if (!mask->test(c)) continue;
    if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) {
      return error(EINVAL, fmt::format("--pcpus: host core {} is not one this process may run on ({})", c,
                                       sched::formatCpuList(*mask, limit)));
    }
    cores.push_back(c);
  }
  return cores;
}

}  // namespace

Status Hypervisor::checkOptions(const HypervisorOptions& opts) {
  if (opts.schedPolicy != kNoScheduler) {
    const auto names = sched::PolicyRegistry::builtin().names();
    if (std::find(names.begin(), names.end(), opts.schedPolicy) == names.end()) {
      std::string known;
      for (const auto& n : names) known += n + ", ";
      return error(EINVAL, fmt::format("--sched: unknown policy '{}' (known: {}none)", opts.schedPolicy, known));
    }
  }
  if (opts.haltCheckUs < 0) return error(EINVAL, "--halt-check-us: must be 0 (off) or a period in us");
  auto cores = pcpuCoresFor(opts.pcpus);
  return cores.isOk() ? Status::ok() : cores.status();
}

/// Called from the constructor.
void Hypervisor::startScheduler() {
  auto cores = pcpuCoresFor(opts_.pcpus);
  if (!cores.isOk()) {
    spdlog::error("scheduler: {}; using every allowed host core", cores.status().message());
    cores = allowedHostCores();
  }
  pcpuCores_ = *cores;
  if (opts_.schedPolicy == kNoScheduler) {
    spdlog::info("scheduler: none (each vCPU thread runs under the host's scheduler)");
    return;
  }
  auto hs = HostScheduler::create(opts_.schedPolicy, pcpuCores_, opts_.haltCheckUs * sched::kNsPerUs);
  if (!hs.isOk()) {
    spdlog::error("scheduler '{}': {}; vCPUs run unscheduled", opts_.schedPolicy, hs.status().toString());
    opts_.schedPolicy = kNoScheduler;
    return;
  }
  hostSched_ = std::move(hs).value();
  spdlog::info("scheduler: {} on {} pCPUs (host cores {})", opts_.schedPolicy, pcpuCores_.size(),
               fmt::join(pcpuCores_, ","));
}

std::string Hypervisor::schedPolicy() const { return opts_.schedPolicy; }

unsigned Hypervisor::pcpuCount() const { return static_cast<unsigned>(std::max<size_t>(1, pcpuCores_.size())); }

Status Hypervisor::scheduleDomain(uint32_t domid, const smartvm::v1::DomainConfig& c) {
  if (!hostSched_) return Status::ok();
  sched::Scheduler& s = hostSched_->scheduler();
  const sched::WorkType work = c.concurrent_work() ? sched::WorkType::Concurrent : sched::WorkType::Common;
  SMARTVM_TRY(s.addDomain(domid, c.name(), std::max<uint32_t>(1, c.vcpus()), work));
  sched::Params p;
  if (c.cpu_weight() != 0) p["weight"] = c.cpu_weight();
  if (c.cpu_cap() != 0) p["cap"] = c.cpu_cap();
  Status st = p.empty() ? Status::ok() : s.setDomainParams(domid, p);
  if (st.isOk() && !c.cpus().empty()) {
    auto mask = sched::parseCpuList(c.cpus(), pcpuCount());
    st = mask.isOk() ? Status::ok() : error(EINVAL, "cpus: " + mask.status().message());
    for (uint32_t v = 0; st.isOk() && v < std::max<uint32_t>(1, c.vcpus()); ++v) st = s.pin(domid, v, *mask);
  }
  if (!st.isOk()) {
    (void)s.removeDomain(domid);
    return st;
  }
  return Status::ok();
}

void Hypervisor::unscheduleDomain(uint32_t domid) {
  if (!hostSched_) return;
  if (Status s = hostSched_->scheduler().removeDomain(domid); !s.isOk() && s.code() != ESRCH) {
    spdlog::warn("scheduler: domain {} not removed: {}", domid, s.toString());
  }
}

Status Hypervisor::checkSchedulable(uint32_t domid) {
  if (domid == 0) return error(EINVAL, "domain 0 is the host: its CPUs are scheduled by Linux");
  if (!find(domid)) return error(ESRCH, fmt::format("no domain with id {}", domid));
  if (!hostSched_) return error(EOPNOTSUPP, "vCPUs are not scheduled (smartvm-hv --sched none)");
  return Status::ok();
}

Result<std::map<std::string, int64_t>> Hypervisor::schedDomainParams(uint32_t domid) {
  SMARTVM_TRY(checkSchedulable(domid));
  return hostSched_->scheduler().domainParams(domid);
}

Status Hypervisor::setSchedDomainParams(uint32_t domid, const std::map<std::string, int64_t>& params) {
  SMARTVM_TRY(checkSchedulable(domid));
  SMARTVM_TRY(hostSched_->scheduler().setDomainParams(domid, params));
  if (auto d = find(domid)) {
    for (const auto& [k, v] : params) d->log().info("scheduler: {} = {}", k, v);
  }
  return Status::ok();
}

Result<std::map<std::string, int64_t>> Hypervisor::schedGlobalParams() {
  if (!hostSched_) return error(EOPNOTSUPP, "vCPUs are not scheduled (smartvm-hv --sched none)");
  return hostSched_->scheduler().globalParams();
}

Status Hypervisor::setSchedGlobalParams(const std::map<std::string, int64_t>& params) {
  if (!hostSched_) return error(EOPNOTSUPP, "vCPUs are not scheduled (smartvm-hv --sched none)");
  SMARTVM_TRY(hostSched_->scheduler().setGlobalParams(params));
  for (const auto& [k, v] : params) spdlog::info("scheduler: {} = {}", k, v);
  return Status::ok();
}

Status Hypervisor::pinVcpu(uint32_t domid, std::optional<uint32_t> vcpu, const std::string& cpuList) {
  SMARTVM_TRY(checkSchedulable(domid));
  auto d = find(domid);
  const uint32_t n = d ? std::max<uint32_t>(1, d->config().vcpus()) : 0;
  if (vcpu && *vcpu >= n) return error(ESRCH, fmt::format("domain {} has no vCPU {} (it has {})", domid, *vcpu, n));
  auto mask = sched::parseCpuList(cpuList, pcpuCount());
  if (!mask.isOk()) return error(EINVAL, "CPU list: " + mask.status().message());
  for (uint32_t v = vcpu.value_or(0); v < (vcpu ? *vcpu + 1 : n); ++v) {
    SMARTVM_TRY(hostSched_->scheduler().pin(domid, v, *mask));
  }
  return Status::ok();
}

std::string Hypervisor::schedDump() {
  if (!hostSched_) return std::string();
  const sched::Ns period = hostSched_->haltCheckPeriod();
  return hostSched_->scheduler().dump() +
         (period > 0 ? fmt::format("halt check: every {} us, {} rounds\n", period / sched::kNsPerUs,
                                   hostSched_->haltCheckRounds())
                     : std::string("halt check: off\n"));
}

Result<std::vector<VcpuListEntry>> Hypervisor::vcpuList(std::optional<uint32_t> domid) {
  std::vector<std::shared_ptr<Domain>> doms;
  if (domid) {
    if (*domid == 0) return error(EINVAL, "domain 0 is the host: its CPUs are scheduled by Linux");
    auto d = find(*domid);
    if (!d) return error(ESRCH, fmt::format("no domain with id {}", *domid));
    doms.push_back(d);
  } else {
    std::lock_guard lk(m_);
    for (const auto& [id, d] : domains_) doms.push_back(d);
  }
  std::vector<VcpuListEntry> out;
  for (const auto& d : doms) {
    const uint32_t n = std::max<uint32_t>(1, d->config().vcpus());
    for (uint32_t v = 0; v < n; ++v) {
      VcpuListEntry e;
      e.domid = d->domid();
      e.name = d->name();
      e.vcpu = v;
      if (hostSched_) {
        sched::Scheduler& s = hostSched_->scheduler();
        auto rs = s.runstate(e.domid, v);
        auto where = s.placement(e.domid, v);
        if (!rs.isOk() || !where.isOk()) continue;  // being destroyed
        e.online = rs->state != sched::VcpuState::Offline;
        e.running = rs->state == sched::VcpuState::Running;
        e.blocked = rs->state == sched::VcpuState::Blocked;
        e.paused = rs->state == sched::VcpuState::Paused;
        e.cpuSeconds = static_cast<double>(rs->running) / 1e9;
        e.pcpu = where->pcpu;
        e.hardAffinity = sched::formatCpuList(where->hardAffinity, pcpuCount());
      } else {
        Vcpu* vc = d->vcpu(v);
        if (vc == nullptr) continue;
        const VcpuRunState st = vc->runState();
        e.online = vc->isUp() && st != VcpuRunState::Offline && st != VcpuRunState::Stopped;
        e.running = st == VcpuRunState::Running;
        e.blocked = st == VcpuRunState::Blocked;
        e.paused = st == VcpuRunState::Parked;
        e.cpuSeconds = static_cast<double>(vc->cpuTimeNs()) / 1e9;
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace smartvm::hv
