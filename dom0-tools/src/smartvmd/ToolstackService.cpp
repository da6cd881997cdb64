#include "smartvm/dom0/smartvmd/ToolstackService.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

#include "smartvm/dom0/api/GrpcStatus.h"
#include "smartvm/dom0/config/DomainConfigRules.h"

namespace smartvm::dom0 {
namespace {

/// Maps a failed Status at the edge, logging it: changes at info, failures at warning.
grpc::Status answer(const char* call, const std::string& subject, const Status& status) {
  const std::string what = subject.empty() ? std::string(call) : fmt::format("{} '{}'", call, subject);
  if (status.isOk()) {
    spdlog::debug("{}: ok", what);
    return grpc::Status::OK;
  }
  // A client that hung up is routine, not a problem worth a warning.
  if (status.code() == ECANCELED) {
    spdlog::debug("{}: {}", what, status.message());
  } else {
    spdlog::warn("{}: {}", what, status.toString());
  }
  return toGrpcStatus(status);
}

template <typename T>
grpc::Status answerWith(const char* call, const std::string& subject, Result<T> result, T* out) {
  if (result.isOk()) *out = std::move(result).value();
  return answer(call, subject, result.status());
}

/// A scheduler request's subject for messages: the domain, or "" for the global parameters.
std::string schedSubject(bool hasDomain, const v1::DomainRef& domain) { return hasDomain ? domain.id() : ""; }

/// "weight=512 cap=50", for the log.
std::string describeParams(const google::protobuf::Map<std::string, int64_t>& params) {
  const std::map<std::string, int64_t> sorted(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : sorted) out += fmt::format("{}{}={}", out.empty() ? "" : " ", key, value);
  return out;
}

}  // namespace

grpc::Status ToolstackService::CreateDomain(grpc::ServerContext*, const v1::CreateDomainRequest* req,
                                            v1::DomainInfo* out) {
  v1::DomainConfig config = req->config();
  DomainConfigRules::applyDefaults(config);
  if (Status s = DomainConfigRules::validate(config); !s.isOk()) return answer("CreateDomain", config.name(), s);
  auto result = core_.create(config);
  if (result.isOk()) {
    spdlog::info("created domain '{}' (id {}) from {}", result->name(), result->domid(),
                 config.source_file().empty() ? "the API" : config.source_file());
  }
  return answerWith("CreateDomain", config.name(), std::move(result), out);
}

grpc::Status ToolstackService::ListDomains(grpc::ServerContext*, const v1::ListDomainsRequest*,
                                           v1::ListDomainsResponse* out) {
  auto result = core_.list();
  if (result.isOk()) {
    for (auto& d : *result) *out->add_domains() = std::move(d);
  }
  return answer("ListDomains", "", result.status());
}

grpc::Status ToolstackService::GetDomain(grpc::ServerContext*, const v1::DomainRef* req, v1::DomainInfo* out) {
  return answerWith("GetDomain", req->id(), core_.get(req->id()), out);
}

grpc::Status ToolstackService::PauseDomain(grpc::ServerContext*, const v1::DomainRef* req, v1::DomainInfo* out) {
  spdlog::info("pause domain '{}'", req->id());
  return answerWith("PauseDomain", req->id(), core_.pause(req->id()), out);
}

grpc::Status ToolstackService::UnpauseDomain(grpc::ServerContext*, const v1::DomainRef* req, v1::DomainInfo* out) {
  spdlog::info("unpause domain '{}'", req->id());
  return answerWith("UnpauseDomain", req->id(), core_.unpause(req->id()), out);
}

grpc::Status ToolstackService::ShutdownDomain(grpc::ServerContext* ctx, const v1::ShutdownRequest* req,
                                              v1::DomainInfo* out) {
  spdlog::info("{} domain '{}'{}{}", req->reboot() ? "reboot" : "shut down", req->domain().id(),
               req->force() ? " (force)" : "", req->wait() ? " and wait" : "");
  auto result = core_.shutdown(*req, [ctx] { return ctx->IsCancelled(); });
  return answerWith("ShutdownDomain", req->domain().id(), std::move(result), out);
}

grpc::Status ToolstackService::DestroyDomain(grpc::ServerContext*, const v1::DomainRef* req, v1::DestroyResponse* out) {
  spdlog::info("destroy domain '{}'", req->id());
  auto result = core_.destroy(req->id());
  if (result.isOk()) out->set_domid(*result);
  return answer("DestroyDomain", req->id(), result.status());
}

grpc::Status ToolstackService::ReadConsole(grpc::ServerContext* ctx, const v1::ReadConsoleRequest* req,
                                           grpc::ServerWriter<v1::ConsoleChunk>* writer) {
  const Status s = core_.readConsole(
      *req, [writer](const v1::ConsoleChunk& chunk) { return writer->Write(chunk); },
      [ctx] { return ctx->IsCancelled(); });
  return answer("ReadConsole", req->domain().id(), s);
}

grpc::Status ToolstackService::GetHostInfo(grpc::ServerContext*, const v1::HostInfoRequest*, v1::HostInfo* out) {
  return answerWith("GetHostInfo", "", core_.hostInfo(), out);
}

grpc::Status ToolstackService::ReadHypervisorLog(grpc::ServerContext*, const v1::HypervisorLogRequest* req,
                                                 v1::HypervisorLog* out) {
  auto result = core_.hypervisorLog(req->clear());
  if (result.isOk()) out->set_text(std::move(*result));
  return answer("ReadHypervisorLog", "", result.status());
}

grpc::Status ToolstackService::ListEventChannels(grpc::ServerContext*, const v1::DomainRef* req,
                                                 v1::ListEventChannelsResponse* out) {
  return answerWith("ListEventChannels", req->id(), core_.listEventChannels(req->id()), out);
}

grpc::Status ToolstackService::SendDebugKeys(grpc::ServerContext*, const v1::DebugKeysRequest* req,
                                             v1::DebugKeysResponse* out) {
  spdlog::info("debug keys '{}'", req->keys());
  auto result = core_.debugKeys(req->keys());
  if (result.isOk()) out->set_text(std::move(*result));
  return answer("SendDebugKeys", "", result.status());
}

grpc::Status ToolstackService::GetSchedParams(grpc::ServerContext*, const v1::SchedParamsRequest* req,
                                              v1::SchedParams* out) {
  return answerWith("GetSchedParams", schedSubject(req->has_domain(), req->domain()), core_.schedParams(*req), out);
}

grpc::Status ToolstackService::SetSchedParams(grpc::ServerContext*, const v1::SetSchedParamsRequest* req,
                                              v1::SchedParams* out) {
  const std::string subject = schedSubject(req->has_domain(), req->domain());
  spdlog::info("set scheduler parameters of {}: {}", subject.empty() ? "the host" : fmt::format("domain '{}'", subject),
               describeParams(req->params()));
  return answerWith("SetSchedParams", subject, core_.setSchedParams(*req), out);
}

grpc::Status ToolstackService::PinVcpu(grpc::ServerContext*, const v1::PinVcpuRequest* req,
                                       v1::PinVcpuResponse* out) {
  spdlog::info("pin vCPU {} of domain '{}' to {}", req->has_vcpu() ? std::to_string(req->vcpu()) : "all",
               req->domain().id(), req->cpus());
  auto result = core_.pinVcpu(*req);
  if (result.isOk()) out->set_domid(*result);
  return answer("PinVcpu", req->domain().id(), result.status());
}

grpc::Status ToolstackService::ListVcpus(grpc::ServerContext*, const v1::ListVcpusRequest* req,
                                         v1::ListVcpusResponse* out) {
  return answerWith("ListVcpus", schedSubject(req->has_domain(), req->domain()), core_.listVcpus(*req), out);
}

}  // namespace smartvm::dom0
