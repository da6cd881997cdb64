// FakeHv's scheduler operations: parameters, pins and the vCPU list.
#include <fmt/format.h>

#include "FakeHv.h"

namespace smartvm::dom0::test {
namespace {

using control::v1::Request;
using control::v1::Response;

struct Range {
  int64_t min;
  int64_t max;
};

/// The keys a policy has, with their ranges, as smartvm-hv checks them.
std::map<std::string, Range> domainKeys(const std::string& policy) {
  std::map<std::string, Range> keys = {{"weight", {1, 65535}}, {"cap", {0, 6400}}};
  if (policy == "parallel") keys["concurrent"] = {0, 1};
  return keys;
}

std::map<std::string, Range> globalKeys(const std::string& policy) {
  std::map<std::string, Range> keys = {{"tslice_ms", {1, 1000}}, {"ratelimit_us", {0, 500000}}};
  if (policy == "parallel") {
    keys["gang_slice_ms"] = {1, 1000};
    keys["gang_share"] = {1, 100};
  }
  return keys;
}

void setError(Response& out, const Status& s) {
  out.set_error_code(s.code());
  out.set_error(s.message());
}

}  // namespace

void FakeHv::setSchedPolicy(const std::string& policy) {
  Lock lock(mu_);
  schedPolicy_ = policy;
  host.set_sched_policy(policy);
  if (policy == "parallel") {
    schedGlobal_["gang_slice_ms"] = 10;
    schedGlobal_["gang_share"] = 50;
  }
}

std::map<std::string, int64_t> FakeHv::schedGlobal() const {
  Lock lock(mu_);
  return schedGlobal_;
}

std::map<std::string, int64_t> FakeHv::schedDomain(uint32_t domid) const {
  Lock lock(mu_);
  auto it = schedDomains_.find(domid);
  return it == schedDomains_.end() ? std::map<std::string, int64_t>() : it->second;
}

std::map<std::pair<uint32_t, uint32_t>, std::string> FakeHv::pins() const {
  Lock lock(mu_);
  return pins_;
}

void FakeHv::setVcpus(uint32_t domid, uint32_t n) {
  Lock lock(mu_);
  doms_.at(domid).info.set_vcpus(n);
}

std::map<std::string, int64_t>& FakeHv::domainParams(uint32_t domid) {
  auto [it, added] = schedDomains_.try_emplace(domid);
  if (added) {
    it->second = {{"weight", 256}, {"cap", 0}};
    if (schedPolicy_ == "parallel") it->second["concurrent"] = 0;
  }
  return it->second;
}

Status FakeHv::setParams(std::map<std::string, int64_t>& into,
                         const google::protobuf::Map<std::string, int64_t>& params) {
  const bool global = &into == &schedGlobal_;
  const auto keys = global ? globalKeys(schedPolicy_) : domainKeys(schedPolicy_);
  for (const auto& [key, value] : params) {
    auto k = keys.find(key);
    if (k == keys.end()) return error(EOPNOTSUPP, fmt::format("the {} policy has no parameter '{}'", schedPolicy_, key));
    if (value < k->second.min || value > k->second.max) {
      return error(EINVAL, fmt::format("{}: {} is out of range {}..{}", key, value, k->second.min, k->second.max));
    }
  }
  for (const auto& [key, value] : params) into[key] = value;
  return Status::ok();
}

void FakeHv::schedOp(const Request& req, Response& out) {
  if (schedPolicy_ == "none") return setError(out, error(EOPNOTSUPP, "vCPUs are not scheduled (policy none)"));
  auto domainAnswer = [&](uint32_t domid) {
    auto* p = out.mutable_sched_params();
    p->set_policy(schedPolicy_);
    p->set_domid(domid);
    p->set_name(live(domid)->info.name());
    for (const auto& [k, v] : domainParams(domid)) (*p->mutable_params())[k] = v;
  };
  auto globalAnswer = [&] {
    auto* p = out.mutable_sched_params();
    p->set_policy(schedPolicy_);
    p->set_global(true);
    for (const auto& [k, v] : schedGlobal_) (*p->mutable_params())[k] = v;
  };
  auto guest = [&](uint32_t domid) -> Status {
    if (domid == 0) return error(EINVAL, "domain 0 is the host: its CPUs are scheduled by Linux");
    if (live(domid) == nullptr) return error(ESRCH, fmt::format("no domain {}", domid));
    return Status::ok();
  };
  switch (req.op_case()) {
    case Request::kSchedDomainGet: {
      if (Status s = guest(req.sched_domain_get().domid()); !s.isOk()) return setError(out, s);
      return domainAnswer(req.sched_domain_get().domid());
    }
    case Request::kSchedDomainSet: {
      const uint32_t domid = req.sched_domain_set().domid();
      if (Status s = guest(domid); !s.isOk()) return setError(out, s);
      if (Status s = setParams(domainParams(domid), req.sched_domain_set().params()); !s.isOk()) {
        return setError(out, s);
      }
      return domainAnswer(domid);
    }
    case Request::kSchedGlobalGet: return globalAnswer();
    case Request::kSchedGlobalSet: {
      if (Status s = setParams(schedGlobal_, req.sched_global_set().params()); !s.isOk()) return setError(out, s);
      return globalAnswer();
    }
    case Request::kVcpuPin: {
      const auto& pin = req.vcpu_pin();
      if (Status s = guest(pin.domid()); !s.isOk()) return setError(out, s);
      const uint32_t vcpus = live(pin.domid())->info.vcpus();
      if (pin.has_vcpu() && pin.vcpu() >= vcpus) {
        return setError(out, error(ESRCH, fmt::format("domain {} has no vCPU {}", pin.domid(), pin.vcpu())));
      }
      if (pin.cpus().find_first_not_of("0123456789,-^al") != std::string::npos) {
        return setError(out, error(EINVAL, fmt::format("bad CPU list '{}'", pin.cpus())));
      }
      for (uint32_t v = 0; v < vcpus; ++v) {
        if (!pin.has_vcpu() || pin.vcpu() == v) pins_[{pin.domid(), v}] = pin.cpus();
      }
      return;
    }
    case Request::kVcpuList: return listVcpus(req.vcpu_list(), out);
    default: setError(out, error(EINVAL, "not a scheduler operation"));
  }
}

void FakeHv::listVcpus(const control::v1::VcpuList& r, Response& out) {
  auto* list = out.mutable_vcpus();
  if (r.has_domid() && r.domid() == 0) {
    return setError(out, error(EINVAL, "domain 0 is the host: its CPUs are scheduled by Linux"));
  }
  if (r.has_domid() && live(r.domid()) == nullptr) {
    return setError(out, error(ESRCH, fmt::format("no domain {}", r.domid())));
  }
  for (const auto& [domid, d] : doms_) {
    if (d.gone || domid == 0 || (r.has_domid() && r.domid() != domid)) continue;
    for (uint32_t v = 0; v < d.info.vcpus(); ++v) {
      auto* info = list->add_vcpus();
      info->set_domid(domid);
      info->set_name(d.info.name());
      info->set_vcpu(v);
      info->set_pcpu(static_cast<int32_t>(v));
      info->set_online(true);
      const bool paused = d.info.state() == v1::DOMAIN_STATE_PAUSED;
      info->set_running(v == 0 && !paused);
      info->set_blocked(v != 0);
      info->set_paused(paused);
      info->set_cpu_time_s(1.25 * (v + 1));
      auto pin = pins_.find({domid, v});
      info->set_hard_affinity(pin == pins_.end() ? "all" : pin->second);
      info->set_soft_affinity("all");
    }
  }
}

}  // namespace smartvm::dom0::test
