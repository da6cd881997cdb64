// CliRunner's scheduler commands: sched-credit, sched-parallel, vcpu-pin, vcpu-list.
#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "smartvm/dom0/cli/CliRunner.h"
#include "smartvm/dom0/cli/SchedParamsFormat.h"
#include "smartvm/dom0/cli/VcpuListFormat.h"

namespace smartvm::dom0 {
namespace {

using ParamMap = std::map<std::string, int64_t>;

SchedView viewOf(const CliCommand& cmd) {
  return cmd.verb == CliVerb::SchedParallel ? SchedView::Parallel : SchedView::Credit;
}

void put(ParamMap& params, const char* key, const std::optional<int64_t>& value) {
  if (value) params[key] = *value;
}

/// sched-parallel shows the parallel policy's parameters: refuse another policy's.
std::optional<std::string> wrongPolicy(SchedView view, const v1::SchedParams& params) {
  if (view != SchedView::Parallel || params.policy() == "parallel") return std::nullopt;
  return fmt::format("the host's scheduler is '{}', not 'parallel' (start smartvm-hv with --sched parallel)",
                     params.policy());
}

}  // namespace

grpc::Status CliRunner::getSchedParams(const std::string& domain, v1::SchedParams& out) {
  v1::SchedParamsRequest request;
  if (!domain.empty()) request.mutable_domain()->set_id(domain);
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  return stub_->GetSchedParams(&ctx, request, &out);
}

int CliRunner::setSchedParams(const std::string& domain, const ParamMap& params) {
  v1::SetSchedParamsRequest request;
  if (!domain.empty()) request.mutable_domain()->set_id(domain);
  request.mutable_params()->insert(params.begin(), params.end());
  v1::SchedParams after;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  if (grpc::Status s = stub_->SetSchedParams(&ctx, request, &after); !s.ok()) return fail(s);
  return 0;
}

int CliRunner::sched(const CliCommand& cmd) {
  if (cmd.schedGlobalScope()) return schedGlobal(cmd);
  if (cmd.setsDomainParams()) {
    ParamMap params;
    put(params, "weight", cmd.weight);
    put(params, "cap", cmd.cap);
    put(params, "concurrent", cmd.concurrent);
    return setSchedParams(cmd.domain, params);
  }
  return schedDomains(cmd);
}

int CliRunner::schedGlobal(const CliCommand& cmd) {
  ParamMap params;
  put(params, "tslice_ms", cmd.tsliceMs);
  put(params, "ratelimit_us", cmd.ratelimitUs);
  put(params, "gang_slice_ms", cmd.gangSliceMs);
  put(params, "gang_share", cmd.gangShare);
  if (!params.empty()) return setSchedParams("", params);
  v1::SchedParams global;
  if (grpc::Status s = getSchedParams("", global); !s.ok()) return fail(s);
  if (const auto problem = wrongPolicy(viewOf(cmd), global)) return fail(*problem);
  out_ << formatSchedGlobal(viewOf(cmd), global);
  return 0;
}

int CliRunner::schedDomains(const CliCommand& cmd) {
  const SchedView view = viewOf(cmd);
  std::vector<v1::SchedParams> rows;
  if (!cmd.domain.empty()) {  // as xl: the table for that domain alone, without the pool line
    if (grpc::Status s = getSchedParams(cmd.domain, rows.emplace_back()); !s.ok()) return fail(s);
    if (const auto problem = wrongPolicy(view, rows.back())) return fail(*problem);
    out_ << formatSchedDomains(view, rows);
    return 0;
  }
  v1::SchedParams global;
  if (grpc::Status s = getSchedParams("", global); !s.ok()) return fail(s);
  if (const auto problem = wrongPolicy(view, global)) return fail(*problem);
  v1::ListDomainsResponse domains;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  if (grpc::Status s = stub_->ListDomains(&ctx, v1::ListDomainsRequest(), &domains); !s.ok()) return fail(s);
  for (const v1::DomainInfo& d : domains.domains()) {
    if (d.domid() == 0) continue;  // Domain-0 is the host: Linux schedules its CPUs, not smartvm-hv
    v1::SchedParams row;
    const grpc::Status s = getSchedParams(std::to_string(d.domid()), row);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;  // gone since the list
    if (!s.ok()) return fail(s);
    if (row.name().empty()) row.set_name(d.name());
    rows.push_back(std::move(row));
  }
  out_ << formatSchedGlobal(view, global) << formatSchedDomains(view, rows);
  return 0;
}

int CliRunner::vcpuPin(const CliCommand& cmd) {
  v1::PinVcpuRequest request;
  request.mutable_domain()->set_id(cmd.domain);
  if (cmd.vcpu != "all") {
    uint32_t vcpu = 0;
    const auto [end, ec] = std::from_chars(cmd.vcpu.data(), cmd.vcpu.data() + cmd.vcpu.size(), vcpu);
    if (ec != std::errc() || end != cmd.vcpu.data() + cmd.vcpu.size()) {
      return fail(fmt::format("'{}' is not a vCPU number or 'all'", cmd.vcpu));
    }
    request.set_vcpu(vcpu);
  }
  request.set_cpus(cmd.cpus);
  v1::PinVcpuResponse response;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  // Silent on success, as xl vcpu-pin.
  if (grpc::Status s = stub_->PinVcpu(&ctx, request, &response); !s.ok()) return fail(s);
  return 0;
}

int CliRunner::vcpuList(const CliCommand& cmd) {
  std::vector<v1::VcpuInfo> vcpus;
  auto listOf = [&](const std::string* domain) {  // nullptr: every domain
    v1::ListVcpusRequest request;
    if (domain != nullptr) request.mutable_domain()->set_id(*domain);
    v1::ListVcpusResponse response;
    grpc::ClientContext ctx;
    setDeadline(ctx, kCallDeadline);
    const grpc::Status s = stub_->ListVcpus(&ctx, request, &response);
    vcpus.insert(vcpus.end(), response.vcpus().begin(), response.vcpus().end());
    return s;
  };
  if (cmd.domains.empty()) {
    if (grpc::Status s = listOf(nullptr); !s.ok()) return fail(s);
  }
  for (const std::string& domain : cmd.domains) {
    if (grpc::Status s = listOf(&domain); !s.ok()) return fail(s);
  }
  out_ << formatVcpuList(vcpus);
  return 0;
}

}  // namespace smartvm::dom0
