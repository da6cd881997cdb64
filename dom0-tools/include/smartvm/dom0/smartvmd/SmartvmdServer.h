#pragma once
// smartvmd's gRPC server: the Toolstack service on the listen address, talking
// to smartvm-hv on the control socket.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "smartvm/Status.h"
#include "smartvm/dom0/smartvmd/ConsoleLogger.h"
#include "smartvm/dom0/smartvmd/ControlClient.h"
#include "smartvm/dom0/smartvmd/DomainMonitor.h"
#include "smartvm/dom0/smartvmd/PvControl.h"
#include "smartvm/dom0/smartvmd/ToolstackCore.h"
#include "smartvm/dom0/smartvmd/ToolstackService.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

namespace smartvm::dom0 {

class SmartvmdServer {
 public:
  /// Mode of smartvmd's unix socket: root (and the socket's group) only, as xl needs root.
  static constexpr unsigned kSocketMode = 0660;

  /// `xenstoredSocket` empty: no xenstore nodes (and no domain monitor), as in tests without xenstored.
  explicit SmartvmdServer(const std::string& hvSocket, const std::string& xenstoredSocket = {});
  ~SmartvmdServer();
  SmartvmdServer(const SmartvmdServer&) = delete;
  SmartvmdServer& operator=(const SmartvmdServer&) = delete;

  /// Keeps every guest's console in a file (ConsoleLogger), from start() to
  /// shutdown(); call once, before start() (it adds a hook). Without it, or with an empty dir, none are kept.
  void logConsoles(ConsoleLogger::Options options);
  /// Starts serving on `listen` ("unix:/path" or "host:port"); fails if the address is bad or taken.
  Status start(const std::string& listen);
  /// Blocks until another thread's shutdown() has finished.
  void wait();
  /// Stops accepting calls, lets running ones finish for `grace`, then cancels
  /// them; returns when no call is left. Domains are not touched: guests keep
  /// running in smartvm-hv. Only the first call does anything.
  void shutdown(std::chrono::milliseconds grace);
  /// A channel to the server without a socket, for tests.
  std::shared_ptr<grpc::Channel> inProcessChannel();

 private:
  ControlClient hv_;
  std::unique_ptr<XenstoreDomains> xenstore_;
  std::unique_ptr<VbdDomains> disks_;
  std::unique_ptr<PvControl> pvControl_;
  ToolstackCore core_;
  std::unique_ptr<DomainMonitor> monitor_;
  ToolstackService service_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<bool> stopped_{false};
  std::unique_ptr<ConsoleLogger> consoleLog_;  // after hv_, which it calls
};

}  // namespace smartvm::dom0
