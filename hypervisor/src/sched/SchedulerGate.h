#pragma once
// A vCPU's gate under the HostScheduler: the thread enters the guest only
// while it holds a pCPU slot, hands the slot on at checkpoints after exits,
// and turns the vCPU's state changes into Scheduler calls.
#include "smartvm/hv/VcpuGate.h"
#include "smartvm/hv/sched/HostScheduler.h"

namespace smartvm::hv {

/// The SchedVcpu the calling thread runs, or nullptr (not a scheduled vCPU thread).
const sched::SchedVcpu* currentSchedVcpu();

class SchedulerGate final : public VcpuGate {
 public:
  SchedulerGate(HostScheduler& host, sched::SchedVcpu& v);
  ~SchedulerGate() override;

  bool enter() override;
  void exited() override;
  void runnable() override;
  void idle(VcpuIdle why) override;
  void yielded() override;
  void interrupt() override;
  void stopped() override;
  void attach(Vcpu& vcpu) override;
  bool shared() const override { return true; }
  int workHint(uint32_t op) override;
  std::optional<vcpu_runstate_info> runstate() const override;

 private:
  /// True on the vCPU's own thread.
  bool onOwnThread() const;
  /// On the own thread: gives the pCPU up now if the scheduler took it away.
  void releaseIfDescheduled();

  HostScheduler& host_;
  sched::SchedVcpu& v_;
  const uint32_t domid_;
  const uint32_t id_;
};

}  // namespace smartvm::hv
