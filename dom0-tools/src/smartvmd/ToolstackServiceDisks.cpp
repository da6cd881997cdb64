// The PV disk calls of the Toolstack service (xl block-attach, block-detach,
// block-list) at the gRPC edge: the request checked, ToolstackCore run, its Status mapped.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "smartvm/dom0/api/GrpcStatus.h"
#include "smartvm/dom0/config/DomainConfigRules.h"
#include "smartvm/dom0/config/XlDiskSpec.h"
#include "smartvm/dom0/smartvmd/ToolstackService.h"

namespace smartvm::dom0 {
namespace {

/// Maps `status`, logging a failure: the caller logs what changed.
grpc::Status answerDisk(const char* call, const std::string& domain, const Status& status) {
  if (status.isOk()) return grpc::Status::OK;
  spdlog::warn("{} '{}': {}", call, domain, status.toString());
  return toGrpcStatus(status);
}

}  // namespace

grpc::Status ToolstackService::AttachDisk(grpc::ServerContext*, const v1::AttachDiskRequest* req, v1::DiskInfo* out) {
  const std::string& ref = req->domain().id();
  if (Status s = DomainConfigRules::validateDisk(req->disk(), "disk"); !s.isOk()) {
    return answerDisk("AttachDisk", ref, s);
  }
  spdlog::info("attach disk {} to domain '{}'", XlDiskSpec::format(req->disk()), ref);
  auto result = core_.attachDisk(*req);
  if (result.isOk()) *out = std::move(result).value();
  return answerDisk("AttachDisk", ref, result.status());
}

grpc::Status ToolstackService::DetachDisk(grpc::ServerContext*, const v1::DetachDiskRequest* req,
                                          v1::DetachDiskResponse*) {
  spdlog::info("detach disk {} from domain '{}'", req->vdev(), req->domain().id());
  return answerDisk("DetachDisk", req->domain().id(), core_.detachDisk(*req));
}

grpc::Status ToolstackService::ListDisks(grpc::ServerContext*, const v1::DomainRef* req, v1::ListDisksResponse* out) {
  auto result = core_.listDisks(req->id());
  if (result.isOk()) *out = std::move(result).value();
  return answerDisk("ListDisks", req->id(), result.status());
}

}  // namespace smartvm::dom0
