#pragma once
// Where a vCPU scheduler hooks into a vCPU's thread. The vCPU tells its gate
// when it becomes runnable or stops being so, and asks it before every entry
// into the guest; the gate may hold the thread until the vCPU has a pCPU.
// Without a scheduler every vCPU free-runs on its own thread (FreeRunningGate).
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/vcpu.h>

#include <cerrno>
#include <memory>
#include <optional>

namespace smartvm::hv {

class Vcpu;

/// Why a vCPU stopped being runnable.
enum class VcpuIdle { Blocked, Paused, Down };

class VcpuGate {
 public:
  virtual ~VcpuGate() = default;
  /// vCPU thread, before entering the guest: waits until it may run. False
  /// when interrupt() ended the wait: the caller re-checks pause/stop/down.
  virtual bool enter() = 0;
  /// vCPU thread, after each guest exit: the scheduler may take the pCPU away.
  virtual void exited() = 0;
  /// The vCPU became runnable: woken, unpaused or brought up (any thread).
  virtual void runnable() = 0;
  /// The vCPU stops being runnable (any thread; from its own thread it gives
  /// up its pCPU before sleeping).
  virtual void idle(VcpuIdle why) = 0;
  /// SCHEDOP_yield on the vCPU's thread.
  virtual void yielded() = 0;
  /// Ends a wait in enter() (pause, stop, down), once.
  virtual void interrupt() = 0;
  /// The vCPU thread ends: it holds no pCPU any more.
  virtual void stopped() = 0;
  /// Whether vCPUs share pCPUs under a scheduler: then a guest halted inside
  /// KVM must give its pCPU up (Vcpu::loop checks after each kick).
  virtual bool shared() const { return false; }
  /// Called once by Vcpu::setGate: the vCPU this gate belongs to.
  virtual void attach(Vcpu&) {}
  /// SMARTVM_SCHEDOP_parallel's op (SMARTVM_SCHEDOP_PARALLEL_*) from the
  /// guest: 0 or a negative errno for the guest.
  virtual int workHint(uint32_t /*op*/) { return -ENOSYS; }
  /// The scheduler's runstate times, when it keeps them.
  virtual std::optional<vcpu_runstate_info> runstate() const { return std::nullopt; }
};

/// No scheduler: the host kernel schedules every vCPU thread.
class FreeRunningGate final : public VcpuGate {
 public:
  bool enter() override { return true; }
  void exited() override {}
  void runnable() override {}
  void idle(VcpuIdle) override {}
  void yielded() override {}
  void interrupt() override {}
  void stopped() override {}
};

}  // namespace smartvm::hv
