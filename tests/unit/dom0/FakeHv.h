#pragma once
// A scripted stand-in for smartvm-hv's control socket: answers control
// Requests from an in-memory domain table, in a thread per connection.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "smartvm/Status.h"
#include "smartvm/control/v1/control.pb.h"

namespace smartvm::dom0::test {

class FakeHv {
 public:
  /// What a hook does with a request: let the fake answer, send the hook's
  /// Response as is, or close the connection without answering.
  enum class HookAction { Default, Answer, Close };
  using Hook = std::function<HookAction(const control::v1::Request&, control::v1::Response&)>;

  /// Listens on `socketPath`; Domain-0 (domid 0) exists from the start.
  explicit FakeHv(std::string socketPath);
  ~FakeHv();

  Status start();
  void stop();

  /// Adds a running domain as if created, returning its domid.
  uint32_t addDomain(const std::string& name, v1::LifecycleAction onPoweroff = v1::LIFECYCLE_ACTION_DESTROY,
                     v1::LifecycleAction onReboot = v1::LIFECYCLE_ACTION_RESTART);
  /// Appends guest console output and wakes console readers.
  void appendConsole(uint32_t domid, const std::string& bytes);
  /// Makes the domain disappear (as destroy does) and wakes waiters.
  void removeDomain(uint32_t domid);
  /// Time between a shutdown request and the guest acting on it; max() = never.
  void setShutdownDelay(std::chrono::milliseconds delay);
  /// Answers a `wait` that times out with ETIMEDOUT instead of the still-running domain.
  void setWaitTimeoutIsError(bool on);
  void setHook(Hook hook);
  /// Gives a domain xenstore and console rings, as smartvm-hv reports them in DomainInfo.
  void setRings(uint32_t domid, uint64_t storeGfn, uint32_t storePort, uint64_t consoleGfn, uint32_t consolePort);
  /// When set, `create` gives each new domain rings: store gfn 0xfe000 + domid, port 1; console 0xfd000 + domid, port 2.
  bool ringsOnCreate = false;

  // Console input (console_write): each domain has a ring `in` side of
  // `capacity` bytes (1024, Xen's) that the guest empties with guestReadsConsole.
  /// Gives the domain a console ring of `capacity` input bytes, or none (console_write: ENODEV).
  void setConsoleRing(uint32_t domid, bool present, size_t capacity = 1024);
  /// Every byte console_write has put into the domain's ring, read by the guest or not.
  std::string consoleInput(uint32_t domid) const;
  /// The guest reads its ring: returns the unread bytes and frees their room.
  std::string guestReadsConsole(uint32_t domid);

  std::optional<v1::DomainInfo> domain(uint32_t domid) const;
  /// Every request received, in order.
  std::vector<control::v1::Request> requests() const;
  /// How many requests of one kind arrived.
  size_t count(control::v1::Request::OpCase op) const;

  v1::HostInfo host;
  std::string log = "(XEN) smartvm-hv starting\n(XEN) Domain-0 ready\n";
  /// Event channel ports `evtchn_list` answers per domid; a live domain not
  /// in the map answers its reserved port 0 only.
  std::map<uint32_t, std::vector<v1::EventChannel>> eventChannels;
  /// Every `debug_keys` string received; 'q' is answered with `debugKeysText`.
  std::vector<std::string> debugKeys;
  std::string debugKeysText = "domain 1 'web': 1 vCPU(s) sent VIRQ_DEBUG\n";

  // The scheduler (FakeHvSched.cpp), checked as smartvm-hv does: unknown keys
  // are EOPNOTSUPP, values out of range EINVAL naming the key. Domain-0 is
  // the host, not scheduled (EINVAL); guests start with weight 256, cap 0 (concurrent 0).
  /// The policy sched_* answers name; "parallel" adds its keys; "none" refuses everything.
  void setSchedPolicy(const std::string& policy);
  std::map<std::string, int64_t> schedGlobal() const;
  std::map<std::string, int64_t> schedDomain(uint32_t domid) const;
  /// vcpu_pin's CPU lists by (domid, vCPU); vcpu_list shows them, else "all".
  std::map<std::pair<uint32_t, uint32_t>, std::string> pins() const;
  /// Gives a domain `n` vCPUs (addDomain makes one).
  void setVcpus(uint32_t domid, uint32_t n);

 private:
  struct Dom {
    v1::DomainInfo info;
    std::string console;
    bool gone = false;
    std::optional<std::chrono::steady_clock::time_point> shutdownAt;
    v1::ShutdownReason pendingReason = v1::SHUTDOWN_REASON_NONE;
    bool consoleRing = true;
    size_t consoleInCapacity = 1024;
    std::string consoleInUnread;  // in the ring, not yet read by the guest
    std::string consoleInAll;
  };
  using Lock = std::unique_lock<std::mutex>;

  void acceptLoop();
  void serve(int fd);
  control::v1::Response answer(const control::v1::Request& request);
  control::v1::Response answerLocked(const control::v1::Request& request, Lock& lock);
  void advance();
  Dom* live(uint32_t domid);
  std::chrono::steady_clock::time_point nextEvent(std::chrono::steady_clock::time_point until) const;
  void consoleRead(const control::v1::ConsoleRead& r, control::v1::Response& out, Lock& lock);
  void waitDomain(const control::v1::WaitDomain& r, control::v1::Response& out, Lock& lock);
  void shutdownDomain(const control::v1::ShutdownDomain& r, control::v1::Response& out);
  void schedOp(const control::v1::Request& req, control::v1::Response& out);
  Status setParams(std::map<std::string, int64_t>& into, const google::protobuf::Map<std::string, int64_t>& params);
  std::map<std::string, int64_t>& domainParams(uint32_t domid);
  void listVcpus(const control::v1::VcpuList& r, control::v1::Response& out);
  void consoleWrite(const control::v1::ConsoleWrite& r, control::v1::Response& out);

  std::string path_;
  int listenFd_ = -1;
  std::thread acceptThread_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::set<int> connFds_;
  std::vector<std::thread> connThreads_;
  std::map<uint32_t, Dom> doms_;
  uint32_t nextDomid_ = 1;
  std::chrono::milliseconds shutdownDelay_{0};
  bool waitTimeoutIsError_ = false;
  Hook hook_;
  std::vector<control::v1::Request> requests_;
  std::string schedPolicy_ = "credit";
  std::map<std::string, int64_t> schedGlobal_ = {{"tslice_ms", 30}, {"ratelimit_us", 1000}};
  std::map<uint32_t, std::map<std::string, int64_t>> schedDomains_;
  std::map<std::pair<uint32_t, uint32_t>, std::string> pins_;
};

}  // namespace smartvm::dom0::test
