// ToolstackCore's scheduler calls: parameters, vCPU affinity and the vCPU list.
#include <fmt/format.h>

#include "smartvm/dom0/smartvmd/ToolstackCore.h"

namespace smartvm::dom0 {

using control::v1::Request;
using control::v1::Response;

Result<Response> ToolstackCore::callOnDomainPart(Request request, uint32_t domid, const std::string& ref) const {
  auto response = hv_.call(std::move(request));
  if (response.isOk() || !isNoSuchDomain(response.status())) return response;
  // ESRCH names the domain or the part asked for (a vCPU, or Domain-0, which no scheduler runs).
  SMARTVM_TRY(getById(domid, ref).status());
  return response;
}

Result<v1::SchedParams> ToolstackCore::schedParamsOf(Response response, const char* op) {
  if (!response.has_sched_params()) {
    return error(EPROTO, fmt::format("smartvm-hv answered {} without scheduler parameters", op));
  }
  return std::move(*response.mutable_sched_params());
}

Result<v1::SchedParams> ToolstackCore::schedParams(const v1::SchedParamsRequest& request) const {
  Request control;
  if (!request.has_domain()) {
    control.mutable_sched_global_get();
    SMARTVM_ASSIGN_OR_RETURN(Response response, hv_.call(std::move(control)));
    return schedParamsOf(std::move(response), "sched_global_get");
  }
  const std::string& ref = request.domain().id();
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  control.mutable_sched_domain_get()->set_domid(domid);
  SMARTVM_ASSIGN_OR_RETURN(Response response, callOnDomainPart(std::move(control), domid, ref));
  return schedParamsOf(std::move(response), "sched_domain_get");
}

Result<v1::SchedParams> ToolstackCore::setSchedParams(const v1::SetSchedParamsRequest& request) const {
  if (request.params().empty()) return error(EINVAL, "no scheduler parameters given");
  for (const auto& [key, value] : request.params()) {
    if (key.empty()) return error(EINVAL, "a scheduler parameter without a name");
  }
  Request control;
  if (!request.has_domain()) {
    *control.mutable_sched_global_set()->mutable_params() = request.params();
    SMARTVM_ASSIGN_OR_RETURN(Response response, hv_.call(std::move(control)));
    return schedParamsOf(std::move(response), "sched_global_set");
  }
  const std::string& ref = request.domain().id();
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  auto* op = control.mutable_sched_domain_set();
  op->set_domid(domid);
  *op->mutable_params() = request.params();
  SMARTVM_ASSIGN_OR_RETURN(Response response, callOnDomainPart(std::move(control), domid, ref));
  return schedParamsOf(std::move(response), "sched_domain_set");
}

Result<uint32_t> ToolstackCore::pinVcpu(const v1::PinVcpuRequest& request) const {
  if (request.cpus().empty()) return error(EINVAL, "no CPU list given (e.g. \"all\", \"0-3\", \"^2\")");
  const std::string& ref = request.domain().id();
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  Request control;
  auto* op = control.mutable_vcpu_pin();
  op->set_domid(domid);
  if (request.has_vcpu()) op->set_vcpu(request.vcpu());
  op->set_cpus(request.cpus());
  SMARTVM_TRY(callOnDomainPart(std::move(control), domid, ref).status());
  return domid;
}

Result<v1::ListVcpusResponse> ToolstackCore::listVcpus(const v1::ListVcpusRequest& request) const {
  Request control;
  auto* op = control.mutable_vcpu_list();
  std::string ref;
  uint32_t domid = 0;
  if (request.has_domain()) {
    ref = request.domain().id();
    SMARTVM_ASSIGN_OR_RETURN(domid, resolve(ref));
    op->set_domid(domid);
  }
  auto response = request.has_domain() ? callOnDomainPart(std::move(control), domid, ref) : hv_.call(std::move(control));
  SMARTVM_TRY(response.status());
  if (!response->has_vcpus()) return error(EPROTO, "smartvm-hv answered vcpu_list without a vCPU list");
  v1::ListVcpusResponse out;
  *out.mutable_vcpus() = std::move(*response->mutable_vcpus()->mutable_vcpus());
  return out;
}

}  // namespace smartvm::dom0
