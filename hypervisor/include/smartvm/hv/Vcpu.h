#pragma once
// One guest vCPU and the host thread that runs it. The loop is an explicit
// state machine: Offline -> Running <-> Blocked/Parked -> Stopped. A kick
// (signal + immediate_exit) is the normal way to take it out of the guest.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/xen.h>
#include <xen/vcpu.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "smartvm/hv/ExitAction.h"
#include "smartvm/hv/kvm/VmBackend.h"

namespace smartvm::hv {

class Domain;
class ExitDispatcher;

enum class VcpuRunState { Offline, Running, Blocked, Parked, Stopped };

class Vcpu {
 public:
  Vcpu(Domain& domain, uint32_t id, std::unique_ptr<VcpuBackend> backend);
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  uint32_t id() const { return id_; }
  Domain& domain() { return domain_; }
  VcpuBackend& backend() { return *backend_; }

  /// Starts the host thread running the guest through `dispatcher`.
  void start(const ExitDispatcher& dispatcher);
  /// Asks the loop to end (does not wait). Safe from any thread, including the vCPU's own.
  void requestStop();
  /// Waits for the thread to end. Never call from the vCPU's own thread.
  void join();

  /// Stops guest execution and waits until the vCPU is out of the guest.
  void pause();
  void unpause();

  /// SCHEDOP_block: sleeps until woken, paused or stopped. Called on the vCPU thread.
  void block();
  /// Wakes a blocked vCPU (an event became pending for it).
  void wake();

  VcpuRunState runState() const { return state_.load(); }
  bool isUp() const;
  /// Host CPU time the vCPU thread has used, guest time included.
  uint64_t cpuTimeNs() const;
  /// Xen runstate (RUNSTATE_* times in ns of system time).
  vcpu_runstate_info runstate() const;

 private:
  void loop(const ExitDispatcher& dispatcher);
  bool waitWhileParked();  // false when stopping
  void setState(VcpuRunState s);

  Domain& domain_;
  const uint32_t id_;
  std::unique_ptr<VcpuBackend> backend_;
  std::thread thread_;
  std::mutex joinMutex_;

  mutable std::mutex m_;
  std::condition_variable cv_;
  bool stopRequested_ = false;
  bool pauseRequested_ = false;
  bool wakePending_ = false;
  std::atomic<VcpuRunState> state_{VcpuRunState::Offline};

  // Runstate accounting (ns of CLOCK_MONOTONIC), under m_.
  uint64_t stateEntryNs_ = 0;
  uint64_t blockedNs_ = 0;
  uint64_t offlineNs_ = 0;
  clockid_t cpuClock_{};
  bool threadAlive_ = false;
  uint64_t finalCpuNs_ = 0;
};

/// CLOCK_MONOTONIC in ns: Xen's system time for Smart-VM guests.
uint64_t monotonicNs();

}  // namespace smartvm::hv
