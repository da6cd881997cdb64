#include "smartvm/dom0/smartvmd/SmartvmdServer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "smartvm/dom0/smartvmd/ListenAddress.h"

namespace smartvm::dom0 {

SmartvmdServer::SmartvmdServer(const std::string& hvSocket, const std::string& xenstoredSocket)
    : hv_(hvSocket), core_(hv_), service_(core_) {
  if (!xenstoredSocket.empty()) {
    xenstore_ = std::make_unique<XenstoreDomains>(xenstoredSocket);
    core_.addHooks(*xenstore_);
    disks_ = std::make_unique<VbdDomains>(xenstoredSocket);  // after the domain's own nodes exist
    core_.addHooks(*disks_);
  }
  if (!core_.hooks().empty()) {
    // Restarts in place and domains that go on their own reach the hooks through it.
    monitor_ = std::make_unique<DomainMonitor>(hv_, core_.hooks());
    core_.addHooks(*monitor_);
  }
}

SmartvmdServer::~SmartvmdServer() {
  shutdown(std::chrono::milliseconds(0));
  if (monitor_) monitor_->stop();
}

Status SmartvmdServer::start(const std::string& listen) {
  SMARTVM_ASSIGN_OR_RETURN(const ListenAddress address, ListenAddress::parse(listen));
  SMARTVM_TRY(address.prepare());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address.grpcUri, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return error(EADDRNOTAVAIL, fmt::format("cannot listen on {}", listen));
  }
  if (!address.unixPath.empty() && ::chmod(address.unixPath.c_str(), kSocketMode) != 0) {
    return errnoStatus("chmod " + address.unixPath);
  }
  spdlog::info("serving smartvm.v1.Toolstack on {}, smartvm-hv at {}", address.grpcUri, hv_.socketPath());
  if (monitor_) monitor_->start();
  return Status::ok();
}

void SmartvmdServer::wait() {
  if (server_) server_->Wait();
}

void SmartvmdServer::shutdown(std::chrono::milliseconds grace) {
  if (!server_ || stopped_.exchange(true)) return;
  spdlog::info("shutting down the API server ({} ms grace); domains keep running", grace.count());
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  if (monitor_) monitor_->stop();
}

std::shared_ptr<grpc::Channel> SmartvmdServer::inProcessChannel() {
  return server_ ? server_->InProcessChannel(grpc::ChannelArguments()) : nullptr;
}

}  // namespace smartvm::dom0
