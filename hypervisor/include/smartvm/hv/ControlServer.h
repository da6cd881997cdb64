#pragma once
// The dom0 control socket: serves proto/smartvm/control/v1 to dom0 daemons.
// Root-only: the socket is mode 0600 and peers must be root or our own user.

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "smartvm/UniqueFd.h"
#include "smartvm/hv/Dom0PortOwner.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/LogRingSink.h"
#include "smartvm/control/v1/control.pb.h"

namespace smartvm::hv {

class ControlServer {
 public:
  ControlServer(Hypervisor& hv, std::string platformInfo,
                std::shared_ptr<LogRingSink> hvLog);
  ~ControlServer();

  /// Listens on `path` and serves connections on background threads.
  Status start(const std::string& path);
  /// Stops accepting, closes every connection and joins the threads.
  void stop();

  /// Connection threads not yet joined (finished ones are joined on the next accept).
  size_t trackedWorkers();

  /// Answers one request (the whole protocol, without sockets: for tests).
  /// Dom0 event channel ports bound and grants mapped here are closed and
  /// unmapped again before it returns.
  smartvm::control::v1::Response handle(const smartvm::control::v1::Request& req);
  /// Answers one request of the connection `owner` stands for: dom0 ports it
  /// binds belong to `owner`. Descriptors to send with the answer (its
  /// fd_count) are appended to `fds`.
  smartvm::control::v1::Response handle(const smartvm::control::v1::Request& req, Dom0PortOwner& owner,
                                        std::vector<UniqueFd>& fds);

 private:
  void acceptLoop();
  void serve(int fd, std::atomic<bool>& done);
  void reapFinishedLocked();
  smartvm::control::v1::Response consoleRead(const smartvm::control::v1::ConsoleRead& r);
  /// The evtchn_* and debug_keys operations (ControlServerEvtchn.cpp).
  smartvm::control::v1::Response eventChannelOp(const smartvm::control::v1::Request& req, Dom0PortOwner& owner,
                                                 std::vector<UniqueFd>& fds);
  smartvm::control::v1::Response debugKeys(const smartvm::control::v1::DebugKeys& keys);
  /// The sched_* and vcpu_* operations (ControlServerSched.cpp).
  smartvm::control::v1::Response schedOp(const smartvm::control::v1::Request& req);
  smartvm::control::v1::Response schedDomainParams(uint32_t domid);
  smartvm::control::v1::Response schedGlobalParams();
  smartvm::control::v1::Response vcpuList(const smartvm::control::v1::VcpuList& op);
  std::string hypervisorLog(bool clear);
  /// Keyboard input into a domain's console ring (ControlServerConsole.cpp).
  smartvm::control::v1::Response consoleWrite(const smartvm::control::v1::ConsoleWrite& w);
  /// grant_map, grant_unmap and grant_copy for dom0 backends (ControlServerGrant.cpp).
  smartvm::control::v1::Response grantOp(const smartvm::control::v1::Request& req, Dom0PortOwner& owner,
                                         std::vector<UniqueFd>& fds);
  smartvm::control::v1::Response grantCopy(const smartvm::control::v1::GrantCopy& op);

  Hypervisor& hv_;
  std::string platformInfo_;
  std::shared_ptr<LogRingSink> hvLog_;
  int listenFd_ = -1;
  std::string path_;
  std::atomic<bool> stopping_{false};
  std::thread acceptThread_;
  std::mutex m_;
  std::set<int> connections_;
  struct Worker {
    std::thread thread;
    std::unique_ptr<std::atomic<bool>> done;  // set as the thread's last act
  };
  std::vector<Worker> workers_;  // dom0 daemons open a connection per call: reaped as they end
};

}  // namespace smartvm::hv
