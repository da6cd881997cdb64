#include <fmt/format.h>

#include "ParallelPolicyImpl.h"

namespace smartvm::sched {
namespace parallel {

// ---------------------------------------------------------------- parameters

Result<Params> ParallelPolicy::domainParams(const SchedDomain& d) const {
  auto p = common_->domainParams(d);
  if (!p.isOk()) return p.status();
  Params out = *p;
  auto it = tasks_.find(&d);
  out["concurrent"] = it != tasks_.end() && it->second.configuredConcurrent ? 1 : 0;
  return out;
}

Status ParallelPolicy::setDomainParams(SchedDomain& d, const Params& p) {
  Params rest = p;
  auto it = rest.find("concurrent");
  std::optional<bool> concurrent;
  if (it != rest.end()) {
    if (it->second != 0 && it->second != 1) return error(EINVAL, "concurrent must be 0 or 1");
    concurrent = it->second == 1;
    rest.erase(it);
  }
  if (!rest.empty()) SMARTVM_TRY(common_->setDomainParams(d, rest));
  if (!concurrent) return Status::ok();
  tasks_[&d].configuredConcurrent = *concurrent;
  const Ns now = host_.now();
  for (SchedVcpu* v : d.vcpus) {
    if (info(*v).concurrent == *concurrent) continue;
    if (*concurrent)
      beginConcurrent(*v, now);
    else
      endConcurrent(*v, now);
  }
  return Status::ok();
}

Params ParallelPolicy::globalParams() const {
  Params out = common_->globalParams();
  out["gang_slice_ms"] = gangSlice_ / kNsPerMs;
  out["gang_share"] = gangShare_;
  return out;
}

Status ParallelPolicy::setGlobalParams(const Params& p) {
  Params rest = p;
  int64_t slice = gangSlice_ / kNsPerMs, share = gangShare_;
  if (auto it = rest.find("gang_slice_ms"); it != rest.end()) {
    if (it->second < 1 || it->second > 1000)
      return error(EINVAL, fmt::format("gang_slice_ms {} out of range 1..1000", it->second));
    slice = it->second;
    rest.erase(it);
  }
  if (auto it = rest.find("gang_share"); it != rest.end()) {
    if (it->second < 1 || it->second > 100)
      return error(EINVAL, fmt::format("gang_share {} out of range 1..100", it->second));
    share = it->second;
    rest.erase(it);
  }
  if (!rest.empty()) SMARTVM_TRY(common_->setGlobalParams(rest));
  gangSlice_ = slice * kNsPerMs;
  gangShare_ = share;
  return Status::ok();
}

void ParallelPolicy::dump(std::ostream& out) const {
  out << fmt::format("parallel: gang_slice_ms={} gang_share={}% window_used_ns={} common_runnable={}\n",
                     gangSlice_ / kNsPerMs, gangShare_, gangUsed_, commonRunnable_);
  for (unsigned p = 0; p < gangOn_.size(); ++p) {
    if (const SchedVcpu* v = gangOn_[p]) out << fmt::format("  pCPU{}: gang d{}v{}\n", p, v->domid, v->id);
  }
  for (const auto& [d, t] : tasks_) {
    if (t.waiting.empty() && !t.inProgress) continue;
    out << fmt::format("  task d{}: {} waiting{}{}\n", d->domid, t.waiting.size(), t.inProgress ? ", in progress" : "",
                       t.queued ? ", queued" : "");
  }
  out << "common work:\n";
  common_->dump(out);
}


}  // namespace parallel

std::unique_ptr<SchedPolicy> makeParallelPolicy(SchedHost& host, std::unique_ptr<SchedPolicy> common) {
  // Gangs borrow the common policy's pCPUs; one that cannot lend is unusable.
  if (common == nullptr || !common->setPcpuAvailable(0, true).isOk()) return nullptr;
  return std::make_unique<parallel::ParallelPolicy>(host, std::move(common));
}

std::unique_ptr<SchedPolicy> makeParallelPolicy(SchedHost& host) {
  auto common = PolicyRegistry::builtin().create("credit", host);
  if (!common.isOk()) return nullptr;
  return makeParallelPolicy(host, std::move(common).value());
}

}  // namespace smartvm::sched
