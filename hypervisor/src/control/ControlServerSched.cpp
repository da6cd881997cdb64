// The control socket's scheduler operations: parameters, vCPU affinity and the
// vCPU list (see proto/smartvm/control/v1/control.proto). Values are checked
// by the Hypervisor; this file only translates.
#include <map>
#include <optional>
#include <string>

#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

namespace pb = smartvm::control::v1;

using ParamMap = std::map<std::string, int64_t>;

pb::Response failed(const Status& s) {
  pb::Response r;
  r.set_error_code(s.code());
  r.set_error(s.message());
  return r;
}

ParamMap fromProto(const google::protobuf::Map<std::string, int64_t>& in) { return ParamMap(in.begin(), in.end()); }

void toProto(const VcpuListEntry& e, smartvm::v1::VcpuInfo& out) {
  out.set_domid(e.domid);
  out.set_name(e.name);
  out.set_vcpu(e.vcpu);
  out.set_pcpu(e.pcpu);
  out.set_online(e.online);
  out.set_running(e.running);
  out.set_blocked(e.blocked);
  out.set_paused(e.paused);
  out.set_cpu_time_s(e.cpuSeconds);
  out.set_hard_affinity(e.hardAffinity);
  out.set_soft_affinity("all");  // no soft affinity: every pCPU is as good as any other
}

}  // namespace

pb::Response ControlServer::schedOp(const pb::Request& req) {
  switch (req.op_case()) {
    case pb::Request::kSchedDomainGet: return schedDomainParams(req.sched_domain_get().domid());
    case pb::Request::kSchedDomainSet: {
      const auto& op = req.sched_domain_set();
      if (Status s = hv_.setSchedDomainParams(op.domid(), fromProto(op.params())); !s) return failed(s);
      return schedDomainParams(op.domid());
    }
    case pb::Request::kSchedGlobalGet: return schedGlobalParams();
    case pb::Request::kSchedGlobalSet: {
      if (Status s = hv_.setSchedGlobalParams(fromProto(req.sched_global_set().params())); !s) return failed(s);
      return schedGlobalParams();
    }
    case pb::Request::kVcpuPin: {
      const auto& op = req.vcpu_pin();
      const std::optional<uint32_t> vcpu = op.has_vcpu() ? std::optional<uint32_t>(op.vcpu()) : std::nullopt;
      if (Status s = hv_.pinVcpu(op.domid(), vcpu, op.cpus()); !s) return failed(s);
      return pb::Response();
    }
    case pb::Request::kVcpuList: return vcpuList(req.vcpu_list());
    default: return failed(error(EINVAL, "not a scheduler operation"));
  }
}

pb::Response ControlServer::schedDomainParams(uint32_t domid) {
  auto params = hv_.schedDomainParams(domid);
  if (!params) return failed(params.status());
  pb::Response r;
  auto* out = r.mutable_sched_params();
  out->set_policy(hv_.schedPolicy());
  out->set_domid(domid);
  if (auto info = hv_.domainInfo(domid)) out->set_name(info->name());
  out->mutable_params()->insert(params->begin(), params->end());
  return r;
}

pb::Response ControlServer::schedGlobalParams() {
  auto params = hv_.schedGlobalParams();
  if (!params) return failed(params.status());
  pb::Response r;
  auto* out = r.mutable_sched_params();
  out->set_policy(hv_.schedPolicy());
  out->set_global(true);
  out->mutable_params()->insert(params->begin(), params->end());
  return r;
}

pb::Response ControlServer::vcpuList(const pb::VcpuList& op) {
  const std::optional<uint32_t> domid = op.has_domid() ? std::optional<uint32_t>(op.domid()) : std::nullopt;
  auto vcpus = hv_.vcpuList(domid);
  if (!vcpus) return failed(vcpus.status());
  pb::Response r;
  auto* out = r.mutable_vcpus();
  for (const VcpuListEntry& e : *vcpus) toProto(e, *out->add_vcpus());
  return r;
}

}  // namespace smartvm::hv
