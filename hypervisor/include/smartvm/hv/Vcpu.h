#pragma once
// One guest vCPU and the host thread that runs it. The loop is an explicit
// state machine: Offline -> Running <-> Blocked/Parked -> Stopped. A kick
// (signal + immediate_exit) is the normal way to take it out of the guest.
// It also holds the vCPU's Xen state: up/down, upcall vector, timers, clock.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/xen.h>
#include <xen/vcpu.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "smartvm/hv/ExitAction.h"
#include "smartvm/hv/VcpuGate.h"
#include "smartvm/hv/kvm/VmBackend.h"
#include "smartvm/hv/time/VcpuClock.h"
#include "smartvm/hv/time/VcpuTimers.h"

namespace smartvm::hv {

class Domain;
class ExitDispatcher;

enum class VcpuRunState { Offline, Running, Blocked, Parked, Stopped };

class Vcpu {
 public:
  /// `timers` runs this vCPU's Xen timers; their events go to `onTimer`.
  Vcpu(Domain& domain, uint32_t id, std::unique_ptr<VcpuBackend> backend, TimerQueue& timers,
       std::function<void()> onTimer);
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  uint32_t id() const { return id_; }
  Domain& domain() { return domain_; }
  VcpuBackend& backend() { return *backend_; }

  /// Where a scheduler hooks in; set before start(). Default: free-running.
  void setGate(std::unique_ptr<VcpuGate> gate) {
    gate_ = std::move(gate);
    gate_->attach(*this);
  }
  VcpuGate& gate() { return *gate_; }

  /// Starts the host thread running the guest through `dispatcher` (once).
  void start(const ExitDispatcher& dispatcher);
  /// Asks the loop to end (does not wait). Safe from any thread, including the vCPU's own.
  void requestStop();
  /// Waits for the thread to end. Never call from the vCPU's own thread.
  void join();

  /// Stops guest execution and waits until the vCPU is out of the guest.
  void pause();
  void unpause();

  /// SCHEDOP_block / SCHEDOP_poll: sleeps until woken, paused, stopped or
  /// (if given) system time `deadlineNs`. False on timeout. vCPU thread only.
  bool block(std::optional<uint64_t> deadlineNs = std::nullopt);
  /// Wakes a blocked vCPU (an event became pending for it).
  void wake();

  // --- Xen's up/down state (VPF_down, is_initialised) ---
  /// Whether VCPUOP_initialise (or the domain builder) gave it a context.
  bool initialised() const { return initialised_.load(); }
  void markInitialised() { initialised_.store(true); }
  /// VCPUOP_up: clears "down", starting the thread the first time.
  void bringUp(const ExitDispatcher& dispatcher);
  /// VCPUOP_down / HLT with interrupts off: the vCPU stops until brought up.
  void takeDown();
  /// Xen's VCPUOP_is_up: not down (whether or not it runs right now).
  bool isUp() const { return !down_.load(); }

  // --- SCHEDOP_poll ---
  static constexpr int64_t kNotPolling = -2;
  static constexpr int64_t kAnyPort = -1;
  /// Marks the vCPU polling for `port` (kAnyPort: several ports). vCPU thread.
  void setPolling(int64_t port) { pollPort_.store(port); }
  /// A port became pending in this domain: wakes the vCPU if it polls for it.
  void portPending(uint32_t port);

  // --- upcalls (Xen's hvm_assert_evtchn_irq) ---
  /// HVMOP_set_evtchn_upcall_vector; 0 = use the domain's callback via.
  void setUpcallVector(uint8_t vector) { upcallVector_.store(vector); }
  uint8_t upcallVector() const { return upcallVector_.load(); }
  /// Injects the domain-wide callback `vector`. Xen's callback vector needs no
  /// EOI, but KVM's LAPIC keeps it in service until one: once it may be in
  /// service the vCPU is kicked and clears it itself before re-injecting.
  Status raiseCallback(VmBackend& vm, uint8_t vector);

  // --- VCPUOP_register_vcpu_info ---
  vcpu_info_t* registeredVcpuInfo() const { return vcpuInfo_.load(std::memory_order_acquire); }
  void setRegisteredVcpuInfo(vcpu_info_t* vi) { vcpuInfo_.store(vi, std::memory_order_release); }

  // --- VCPUOP_register_runstate_memory_area (a guest-virtual address; 0 = none) ---
  void setRunstateArea(uint64_t gva) { runstateArea_.store(gva); }
  uint64_t runstateArea() const { return runstateArea_.load(); }

  VcpuTimers& timers() { return timers_; }
  VcpuClock& clock() { return clock_; }
  /// Refreshes vcpu_info.time from the host clock (any thread).
  void publishTime();

  VcpuRunState runState() const { return state_.load(); }
  /// Host CPU time the vCPU thread has used, guest time included.
  uint64_t cpuTimeNs() const;
  /// Xen runstate (RUNSTATE_* times in ns of system time).
  vcpu_runstate_info runstate() const;
  /// The scheduler's halt check (any thread; one caller at a time): someone
  /// waits for this vCPU's pCPU. Unless the thread used more than half of the
  /// CPU time since the last check (a busy guest, left alone), kicks the vCPU
  /// out of KVM_RUN; the loop then blocks it if it idles in `hlt`, and else
  /// re-enters the guest with its slice untouched. True if it kicked.
  bool haltCheck();

 private:
  void loop(const ExitDispatcher& dispatcher);
  bool waitWhileParked();  // false when stopping
  void serviceCallback();
  /// Blocks a vCPU found halted inside KVM at a kick (`byHaltCheck`: the
  /// scheduler's halt check kicked it), until an event or its LAPIC timer;
  /// false if it was left to run.
  bool blockHalted(bool byHaltCheck);
  void setState(VcpuRunState s);

  Domain& domain_;
  const uint32_t id_;
  std::unique_ptr<VcpuBackend> backend_;
  std::unique_ptr<VcpuGate> gate_ = std::make_unique<FreeRunningGate>();
  std::thread thread_;
  std::mutex joinMutex_;

  mutable std::mutex m_;
  std::condition_variable cv_;
  bool stopRequested_ = false;
  bool pauseRequested_ = false;
  bool wakePending_ = false;
  std::atomic<bool> down_;
  std::atomic<bool> initialised_;
  std::atomic<VcpuRunState> state_{VcpuRunState::Offline};

  std::atomic<int64_t> pollPort_{kNotPolling};
  std::atomic<uint8_t> upcallVector_{0};
  std::atomic<bool> callbackMayBeInService_{false};
  std::atomic<uint8_t> callbackReinject_{0};
  std::atomic<vcpu_info_t*> vcpuInfo_{nullptr};
  std::atomic<uint64_t> runstateArea_{0};
  bool spentTimerProbed_ = false;  // vCPU thread only: see blockHalted()
  std::atomic<bool> haltCheckKick_{false};  // the next Interrupted exit came from haltCheck()
  uint64_t haltCheckAt_ = 0, haltCheckCpuNs_ = 0;  // haltCheck()'s caller only: last sample
  std::atomic<bool> haveCpuClock_{false};  // cpuClock_ is set, for haltCheck() without m_
  VcpuClock clock_;
  VcpuTimers timers_;  // after clock_; stopped first on destruction

  // Runstate accounting (ns of CLOCK_MONOTONIC), under m_.
  uint64_t stateEntryNs_ = 0;
  uint64_t blockedNs_ = 0;
  uint64_t sleptNs_ = 0;  // this vCPU's thread only: time asleep in block()
  uint64_t offlineNs_ = 0;
  uint64_t runnableNs_ = 0;
  clockid_t cpuClock_{};
  bool threadAlive_ = false;
  uint64_t finalCpuNs_ = 0;
};

/// CLOCK_MONOTONIC in ns: Xen's system time for Smart-VM guests.
uint64_t monotonicNs();

}  // namespace smartvm::hv
