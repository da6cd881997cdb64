#pragma once
// The gRPC edge of smartvmd: the smartvm.v1.Toolstack service. Each call checks
// its request, runs ToolstackCore and maps the Status to a grpc::Status.
#include <grpcpp/grpcpp.h>

#include "smartvm/dom0/smartvmd/ToolstackCore.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {

class ToolstackService final : public v1::Toolstack::Service {
 public:
  explicit ToolstackService(const ToolstackCore& core) : core_(core) {}

  grpc::Status CreateDomain(grpc::ServerContext* ctx, const v1::CreateDomainRequest* req, v1::DomainInfo* out) override;
  grpc::Status ListDomains(grpc::ServerContext* ctx, const v1::ListDomainsRequest* req,
                           v1::ListDomainsResponse* out) override;
  grpc::Status GetDomain(grpc::ServerContext* ctx, const v1::DomainRef* req, v1::DomainInfo* out) override;
  grpc::Status PauseDomain(grpc::ServerContext* ctx, const v1::DomainRef* req, v1::DomainInfo* out) override;
  grpc::Status UnpauseDomain(grpc::ServerContext* ctx, const v1::DomainRef* req, v1::DomainInfo* out) override;
  grpc::Status ShutdownDomain(grpc::ServerContext* ctx, const v1::ShutdownRequest* req, v1::DomainInfo* out) override;
  grpc::Status DestroyDomain(grpc::ServerContext* ctx, const v1::DomainRef* req, v1::DestroyResponse* out) override;
  grpc::Status ReadConsole(grpc::ServerContext* ctx, const v1::ReadConsoleRequest* req,
                           grpc::ServerWriter<v1::ConsoleChunk>* writer) override;
  grpc::Status GetHostInfo(grpc::ServerContext* ctx, const v1::HostInfoRequest* req, v1::HostInfo* out) override;
  grpc::Status ReadHypervisorLog(grpc::ServerContext* ctx, const v1::HypervisorLogRequest* req,
                                 v1::HypervisorLog* out) override;
  grpc::Status ListEventChannels(grpc::ServerContext* ctx, const v1::DomainRef* req,
                                 v1::ListEventChannelsResponse* out) override;
  grpc::Status SendDebugKeys(grpc::ServerContext* ctx, const v1::DebugKeysRequest* req,
                             v1::DebugKeysResponse* out) override;
  grpc::Status GetSchedParams(grpc::ServerContext* ctx, const v1::SchedParamsRequest* req,
                              v1::SchedParams* out) override;
  grpc::Status SetSchedParams(grpc::ServerContext* ctx, const v1::SetSchedParamsRequest* req,
                              v1::SchedParams* out) override;
  grpc::Status PinVcpu(grpc::ServerContext* ctx, const v1::PinVcpuRequest* req, v1::PinVcpuResponse* out) override;
  grpc::Status ListVcpus(grpc::ServerContext* ctx, const v1::ListVcpusRequest* req,
                         v1::ListVcpusResponse* out) override;
  grpc::Status WriteConsole(grpc::ServerContext* ctx, const v1::WriteConsoleRequest* req,
                            v1::WriteConsoleResponse* out) override;  // ToolstackServiceConsole.cpp
  // PV disks (ToolstackServiceDisks.cpp).
  grpc::Status AttachDisk(grpc::ServerContext* ctx, const v1::AttachDiskRequest* req, v1::DiskInfo* out) override;
  grpc::Status DetachDisk(grpc::ServerContext* ctx, const v1::DetachDiskRequest* req,
                          v1::DetachDiskResponse* out) override;
  grpc::Status ListDisks(grpc::ServerContext* ctx, const v1::DomainRef* req, v1::ListDisksResponse* out) override;

 private:
  const ToolstackCore& core_;
};

}  // namespace smartvm::dom0
