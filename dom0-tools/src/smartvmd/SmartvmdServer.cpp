#include "smartvm/dom0/smartvmd/SmartvmdServer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "smartvm/dom0/smartvmd/ListenAddress.h"

namespace smartvm::dom0 {
namespace {

/// Makes the console log directory; "" when it is there and writable, else why not.
std::string prepareConsoleLogDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", dir, ec.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return fmt::format("cannot write to {}: {}", dir, std::strerror(errno));
  return "";
}

}  // namespace

SmartvmdServer::SmartvmdServer(const std::string& hvSocket, const std::string& xenstoredSocket)
    : hv_(hvSocket), core_(hv_), service_(core_) {
  if (!xenstoredSocket.empty()) {
    xenstore_ = std::make_unique<XenstoreDomains>(xenstoredSocket);
    core_.addHooks(*xenstore_);
    disks_ = std::make_unique<VbdDomains>(xenstoredSocket);  // after the domain's own nodes exist
    core_.addHooks(*disks_);
    core_.setDisks(*disks_);  // block-attach, block-detach, block-list
    // shutdown/reboot ask the guest through control/shutdown, as xl does.
    pvControl_ = std::make_unique<PvControl>(xenstoredSocket);
    core_.setPvControl(*pvControl_);
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

void SmartvmdServer::logConsoles(ConsoleLogger::Options options) {
  if (options.dir.empty()) return;
  // Console logs are a convenience: smartvmd serves without them (a non-root
  // test run cannot write /var/log), saying why once.
  if (const std::string why = prepareConsoleLogDir(options.dir); !why.empty()) {
    spdlog::warn("guest console logs are off: {} (--console-log-dir DIR elsewhere, or --no-console-log)", why);
    return;
  }
  spdlog::info("guest consoles logged to {}/guest-<name>.log (rotated past {} bytes, {} kept)", options.dir,
               options.maxBytes, options.keep);
  consoleLog_ = std::make_unique<ConsoleLogger>(hv_, std::move(options));
  core_.addHooks(*consoleLog_);  // a guest that is gone before the logger's next round is logged too
}

Status SmartvmdServer::start(const std::string& listen) {
  SMARTVM_ASSIGN_OR_RETURN(const ListenAddress address, ListenAddress::parse(listen));
  SMARTVM_TRY(address.prepare());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address.grpcUri, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service_);
  // The socket is created with kSocketMode, not widened until the chmod
  // below: under a lax umask, anyone could otherwise connect in between.
  const mode_t oldMask = ::umask(0777 & ~kSocketMode);
  server_ = builder.BuildAndStart();
  ::umask(oldMask);
  if (!server_ || port == 0) {
    server_.reset();
    return error(EADDRNOTAVAIL, fmt::format("cannot listen on {}", listen));
  }
  if (!address.unixPath.empty() && ::chmod(address.unixPath.c_str(), kSocketMode) != 0) {
    return errnoStatus("chmod " + address.unixPath);
  }
  spdlog::info("serving smartvm.v1.Toolstack on {}, smartvm-hv at {}", address.grpcUri, hv_.socketPath());
  if (monitor_) monitor_->start();
  if (consoleLog_) consoleLog_->start();
  return Status::ok();
}

void SmartvmdServer::wait() {
  if (server_) server_->Wait();
}

void SmartvmdServer::shutdown(std::chrono::milliseconds grace) {
  if (!server_ || stopped_.exchange(true)) return;
  spdlog::info("shutting down the API server ({} ms grace); domains keep running", grace.count());
  // First: its thread ends after at most one control request, so it never holds up the exit.
  if (consoleLog_) consoleLog_->stop();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  if (monitor_) monitor_->stop();
}

std::shared_ptr<grpc::Channel> SmartvmdServer::inProcessChannel() {
  return server_ ? server_->InProcessChannel(grpc::ChannelArguments()) : nullptr;
}

}  // namespace smartvm::dom0
