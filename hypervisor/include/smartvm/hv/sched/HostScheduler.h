#pragma once
// The vCPU scheduler as smartvm-hv runs it: one Scheduler (policy + core),
// the pCPU slots vCPU threads must hold to enter the guest (PcpuSet), the
// timer thread that ends slices and ticks the policy (SliceTimer), and the
// glue to real vCPUs: kicks out of KVM_RUN, pinning threads to host cores,
// and one VcpuGate per vCPU.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/hv/VcpuGate.h"
#include "smartvm/sched/PcpuSet.h"
#include "smartvm/sched/Scheduler.h"

namespace smartvm::hv {

class SliceTimer;

class HostScheduler {
 public:
  /// How often a pCPU's holder is checked for idling in `hlt` inside KVM
  /// while another vCPU waits for that pCPU (docs/scheduler.md).
  static constexpr sched::Ns kDefaultHaltCheck = sched::kNsPerMs;

  /// `policy` from the registry, one pCPU per entry of `cores` (host CPU
  /// numbers); `haltCheck` <= 0 turns the halt check off.
  static Result<std::unique_ptr<HostScheduler>> create(std::string_view policy, std::vector<unsigned> cores,
                                                       sched::Ns haltCheck = kDefaultHaltCheck);
  ~HostScheduler();
  HostScheduler(const HostScheduler&) = delete;
  HostScheduler& operator=(const HostScheduler&) = delete;

  sched::Scheduler& scheduler() { return *sched_; }
  sched::PcpuSet& pcpus() { return *pcpus_; }
  unsigned pcpuCount() const { return static_cast<unsigned>(cores_.size()); }
  /// The host core pCPU `pcpu` is bound to.
  unsigned coreOf(unsigned pcpu) const { return cores_.at(pcpu); }

  /// A gate for vCPU `vcpu` of `domid` (the domain must be added first).
  std::unique_ptr<VcpuGate> makeGate(uint32_t domid, uint32_t vcpu);
  /// The halt check's period; 0 = off.
  sched::Ns haltCheckPeriod() const { return haltCheck_; }
  /// Halt check rounds so far (each looks at every pCPU with a waiter behind its holder).
  uint64_t haltCheckRounds() const;

 private:
  friend class SchedulerGate;
  HostScheduler(std::vector<unsigned> cores, sched::Ns haltCheck);
  void kick(sched::SchedVcpu& v);
  void haltCheck(sched::SchedVcpu& v);
  void pinThread(unsigned pcpu);
  void bind(const sched::SchedVcpu* v, Vcpu* vcpu);

  std::vector<unsigned> cores_;
  const sched::Ns haltCheck_;
  std::unique_ptr<sched::PcpuSet> pcpus_;
  std::unique_ptr<sched::Scheduler> sched_;
  std::unique_ptr<SliceTimer> timer_;
  std::mutex vcpusMutex_;
  std::unordered_map<const sched::SchedVcpu*, Vcpu*> vcpus_;  ///< for kicks
};

/// The host cores this process may run on (its affinity mask), ascending.
std::vector<unsigned> allowedHostCores();

}  // namespace smartvm::hv
