#pragma once
// What smartvmd does for each Toolstack call, in terms of control requests to
// smartvm-hv. Returns Status/Result; the gRPC mapping lives in ToolstackService.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/dom0/smartvmd/ConsoleFollower.h"
#include "smartvm/dom0/smartvmd/ControlClient.h"
#include "smartvm/dom0/smartvmd/DomainHooks.h"
#include "smartvm/dom0/smartvmd/PollLoop.h"
#include "smartvm/dom0/smartvmd/PvControl.h"
#include "smartvm/v1/toolstack.pb.h"

namespace smartvm::dom0 {

class VbdDomains;

class ToolstackCore {
 public:
  /// ShutdownRequest.wait_timeout_s of 0 means this.
  static constexpr uint32_t kDefaultShutdownTimeoutS = 60;
  using ChunkSink = ConsoleFollower::ChunkSink;

  explicit ToolstackCore(const ControlClient& hv) : hv_(hv) {}

  /// Called after each successful create and destroy (xenstore nodes, backends),
  /// in the order added. Add before serving: the list is not locked.
  void addHooks(DomainHooks& hooks) { hooks_.push_back(&hooks); }
  const std::vector<DomainHooks*>& hooks() const { return hooks_; }
  /// Asks guests to shut down through xenstore control/shutdown (set when
  /// xenstore is configured; without it smartvm-hv decides, refusing unless forced).
  void setPvControl(const PvControl& pv) { pvControl_ = &pv; }

  /// Creates a domain from a checked config (see DomainConfigRules::validate).
  Result<v1::DomainInfo> create(const v1::DomainConfig& config) const;
  Result<std::vector<v1::DomainInfo>> list() const;
  /// A DomainRef id to a domid: digits are a domid, anything else a name looked
  /// up in the domain list. ESRCH "domain 'foo' not found".
  Result<uint32_t> resolve(const std::string& ref) const;
  Result<v1::DomainInfo> get(const std::string& ref) const;
  Result<v1::DomainInfo> pause(const std::string& ref) const;
  Result<v1::DomainInfo> unpause(const std::string& ref) const;
  /// Asks the guest to power off or reboot (ToolstackCoreShutdown.cpp): through
  /// xenstore control/shutdown when it has PV control (then waits for its
  /// acknowledgement), else forced by smartvm-hv with force, else EOPNOTSUPP.
  /// With wait, polls until it has shut down, restarted or gone. The request's
  /// timeout covers both waits (ETIMEDOUT).
  Result<v1::DomainInfo> shutdown(const v1::ShutdownRequest& request, const CancelledFn& cancelled) const;
  /// Destroys the domain; returns its domid.
  Result<uint32_t> destroy(const std::string& ref) const;
  /// Sends console output to `sink`: what is buffered from the request's offset,
  /// then, with follow, live output until the domain is gone.
  Status readConsole(const v1::ReadConsoleRequest& request, const ChunkSink& sink, const CancelledFn& cancelled) const;
  Result<v1::HostInfo> hostInfo() const;
  Result<std::string> hypervisorLog(bool clear) const;
  /// The domain's event channel ports (Domain-0's too, as "0" or "Domain-0").
  Result<v1::ListEventChannelsResponse> listEventChannels(const std::string& ref) const;
  /// Xen's debug keys; returns what smartvm-hv reports having done.
  Result<std::string> debugKeys(const std::string& keys) const;

  // --- the vCPU scheduler (ToolstackCoreSched.cpp) ---
  /// A domain's scheduler parameters, or the policy's global ones when the request names no domain.
  Result<v1::SchedParams> schedParams(const v1::SchedParamsRequest& request) const;
  /// Sets the parameters given (EINVAL when none are); answers all of them afterwards.
  Result<v1::SchedParams> setSchedParams(const v1::SetSchedParamsRequest& request) const;
  /// Hard affinity of one vCPU or all of them; returns the domid. ESRCH for an
  /// unknown domain ("domain 'foo' not found") or vCPU (smartvm-hv's message).
  Result<uint32_t> pinVcpu(const v1::PinVcpuRequest& request) const;
  /// One domain's vCPUs, or every domain's when the request names none.
  Result<v1::ListVcpusResponse> listVcpus(const v1::ListVcpusRequest& request) const;

  // --- console input (ToolstackCoreConsole.cpp) ---
  /// The most one WriteConsole may carry: keyboard input comes in bytes, and
  /// the guest's ring takes 1 KiB at a time anyway (EINVAL beyond this).
  static constexpr size_t kMaxConsoleWrite = 4096;
  /// Puts the request's bytes into the domain's console ring (its `in` side);
  /// returns how many fit. ESRCH unknown domain, ENODEV a domain without a console ring.
  Result<uint32_t> writeConsole(const v1::WriteConsoleRequest& request) const;

  // --- PV disks (ToolstackCoreDisks.cpp) ---
  /// Serves the disk calls through `disks` (smartvmd with xenstored); without
  /// it they fail with EOPNOTSUPP naming --xenstored-socket. Set before serving.
  void setDisks(VbdDomains& disks) { disks_ = &disks; }
  /// Hot-plugs a checked disk (DomainConfigRules::validateDisk) into the domain,
  /// as xl block-attach; answers once smartvm-blkback has taken it. ESRCH unknown
  /// domain, EEXIST vdev in use, EIO refused by the backend, ETIMEDOUT no backend.
  Result<v1::DiskInfo> attachDisk(const v1::AttachDiskRequest& request) const;
  /// Unplugs the disk named by vdev ("xvdb") or device number ("51728"), as xl
  /// block-detach. ENOENT "domain 'web' has no disk xvdb".
  Status detachDisk(const v1::DetachDiskRequest& request) const;
  /// The domain's PV disks as xenstore shows them, in device number order.
  Result<v1::ListDisksResponse> listDisks(const std::string& ref) const;

 private:
  /// Runs a domain operation on `ref`; answers the domain's info, from the reply or a fresh get.
  Result<v1::DomainInfo> domainOp(const std::string& ref,
                                  const std::function<void(control::v1::Request&, uint32_t)>& fill) const;
  Result<v1::DomainInfo> getById(uint32_t domid, const std::string& ref) const;
  Result<control::v1::Response> callOnDomain(control::v1::Request request, const std::string& ref) const;
  /// Shutdown's PV control path: the plan for this domain, or the refusal.
  Result<PvControl::Plan> shutdownPlan(const v1::DomainInfo& before, const std::string& ref, bool reboot,
                                       bool force) const;
  /// As callOnDomain, for operations on a part of a domain (a vCPU): ESRCH is
  /// "domain not found" only if the domain is gone, else smartvm-hv's message stands.
  Result<control::v1::Response> callOnDomainPart(control::v1::Request request, uint32_t domid,
                                                 const std::string& ref) const;
  /// Answers sched_params from `response`, or EPROTO naming `op`.
  static Result<v1::SchedParams> schedParamsOf(control::v1::Response response, const char* op);
  /// The disk calls' VbdDomains, or the EOPNOTSUPP that says how to get one.
  Result<VbdDomains*> vbds() const;
  /// Puts the domain's current disks into its config: the config's, less the
  /// detached, plus the hot-plugged (as libxl's stored config has them).
  void withCurrentDisks(v1::DomainInfo& info) const;

  const ControlClient& hv_;
  std::vector<DomainHooks*> hooks_;
  const PvControl* pvControl_ = nullptr;
  VbdDomains* disks_ = nullptr;
};

/// The not-found error for a domain reference, as every call words it.
Status domainNotFound(const std::string& ref);
/// True for the errno values smartvm-hv uses for "no such domain".
bool isNoSuchDomain(const Status& status);

}  // namespace smartvm::dom0
