#pragma once
// A guest domain: its KVM VM, RAM, vCPUs, console, devices and Xen state, and
// its lifecycle (boot, pause, shutdown, restart, teardown).
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <spdlog/logger.h>
#include <xen/hvm/params.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/evtchn/EventChannels.h"
#include "smartvm/hv/ConsoleBuffer.h"
#include "smartvm/hv/DomainCounters.h"
#include "smartvm/hv/GuestRam.h"
#include "smartvm/hv/SharedInfoPage.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/VcpuGate.h"
#include "smartvm/hv/devices/Bus.h"
#include "smartvm/hv/devices/XenConsole.h"
#include "smartvm/hv/grant/GrantTable.h"
#include "smartvm/hv/kvm/VmBackend.h"
#include "smartvm/hv/time/TimerQueue.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::hv {

class ExitDispatcher;

/// What a domain needs from the hypervisor around it.
struct DomainServices {
  Platform* platform = nullptr;
  const ExitDispatcher* dispatcher = nullptr;
  /// Called (on a vCPU thread) once the domain has shut down or crashed.
  std::function<void(uint32_t domid)> onShutdown;
  std::string logDir;  ///< per-domain log files go here; empty = none
  /// The machine's event channels; the domain registers itself on boot. May be null.
  evtchn::EventChannels* eventChannels = nullptr;
  /// Runs the vCPUs' Xen timers; null = the domain runs its own timer thread.
  TimerQueue* timers = nullptr;
  /// Makes each vCPU's scheduler gate; null = vCPUs free-run on their threads.
  std::function<std::unique_ptr<VcpuGate>(uint32_t domid, uint32_t vcpu)> makeGate;
  /// Domain 0's event channel end; with it the hypervisor serves the guest's
  /// console ring itself (XenConsole). Null = the console port is only offered.
  Dom0EventChannels* dom0Events = nullptr;
};

/// The xenstore and console rings the domain builder set up, as Xen's
/// toolstack announces them (HVM_PARAM_STORE_* / HVM_PARAM_CONSOLE_*); zeros
/// when there are none.
struct XenRings {
  uint64_t storeGfn = 0;
  uint32_t storePort = 0;
  uint64_t consoleGfn = 0;
  uint32_t consolePort = 0;
};

enum class DomainPhase { Built, Running, Shutdown, Dying };

class Domain {
 public:
  Domain(uint32_t domid, smartvm::v1::DomainConfig config, DomainServices services);
  ~Domain();

  /// Creates the VM, RAM and vCPUs and loads the kernel. vCPU 0 is left ready to run.
  Status boot();
  /// Starts vCPU threads; a domain created paused stays paused until unpause().
  Status start();
  /// The next start() is paused, as with start_paused, but only that one (not
  /// a restart's): the toolstack unpauses once the domain's nodes are written.
  void holdFirstStart() { holdFirstStart_ = true; }
  /// Increments the pause count (max 255), stopping guest execution.
  Status pause();
  Status unpause();
  /// Marks the domain shut down with a SHUTDOWN_* reason and stops its vCPUs
  /// (does not wait). The first reason wins. Safe from vCPU threads.
  void shutdown(unsigned reason);
  /// Shuts the domain down as crashed, logging `why` and vCPU `v`'s registers.
  void crash(Vcpu* v, const std::string& why);
  /// Stops every vCPU thread and waits for it. Not from a vCPU thread.
  void stopAndJoin();
  /// Marks the domain as being destroyed ('d' in xl list); wins over a restart in flight.
  void markDying() { phase_.store(DomainPhase::Dying); }
  /// Frees the VM, vCPUs and RAM, keeping identity, console and counters.
  void teardown();
  /// teardown() + boot() + start(): xl's "restart" action, same domid.
  Status restart();

  uint32_t domid() const { return domid_; }
  const std::string& name() const { return config_.name(); }
  const smartvm::v1::DomainConfig& config() const { return config_; }
  smartvm::v1::DomainState state() const;
  DomainPhase phase() const { return phase_.load(); }
  unsigned shutdownReason() const { return shutdownReason_.load(); }
  std::string crashDetail() const;
  smartvm::v1::DomainInfo info() const;

  GuestRam& ram() { return *ram_; }
  ConsoleBuffer& console() { return *console_; }
  /// The console history, which outlives the domain for late readers.
  std::shared_ptr<ConsoleBuffer> consoleShared() { return console_; }
  DomainCounters& counters() { return counters_; }
  SharedInfoPage& sharedInfo() { return *sharedInfo_; }
  /// The domain's grant table (granter side); nullptr before boot and after teardown.
  GrantTable* grantTable() { return grantTable_.get(); }
  /// Holds off teardown (which frees RAM and the grant table) while dom0's
  /// grant operations on other threads use them: grantTable() and, when it is
  /// non-null, ram() stay valid while the lock is held.
  [[nodiscard]] std::shared_lock<std::shared_mutex> pinMemory() { return std::shared_lock(memMutex_); }
  Bus& ioBus() { return ioBus_; }
  evtchn::EventChannels* eventChannels() { return services_.eventChannels; }
  Bus& mmioBus() { return mmioBus_; }
  uint32_t restarts() const { return restarts_.load(); }
  /// Records a restart now; false if the domain restarted too often recently.
  bool noteRestartAllowed();
  uint32_t vcpuCount() const { return static_cast<uint32_t>(vcpus_.size()); }
  Vcpu* vcpu(uint32_t id) { return id < vcpus_.size() ? vcpus_[id].get() : nullptr; }
  const uint8_t* handle() const { return uuid_.data(); }
  spdlog::logger& log() { return *log_; }

  /// An event is pending for vCPU `vcpu`: wakes it if blocked and raises its
  /// upcall vector (HVMOP_set_evtchn_upcall_vector) or else the domain's
  /// HVM_PARAM_CALLBACK_IRQ vector on its LAPIC. Any thread; ESRCH once the
  /// domain's VM is gone.
  Status raiseUpcall(uint32_t vcpu);
  /// Sends a fixed interrupt `vector` to vCPU `vcpu`'s LAPIC. Any thread.
  Status signalMsi(uint32_t vcpu, uint8_t vector);
  /// vCPU `vcpu`'s vcpu_info: the one it registered, else its shared_info slot
  /// (vCPUs 0..31), else nullptr.
  vcpu_info_t* vcpuInfo(uint32_t vcpu);
  /// The dispatcher vCPU threads run with (for VCPUOP_up).
  const ExitDispatcher& dispatcher() const { return *services_.dispatcher; }
  /// Serialises VCPUOP_initialise/up/down/register_vcpu_info (Xen's domain_lock).
  std::mutex& vcpuOpMutex() { return vcpuOpMutex_; }
  /// Sends VIRQ_TIMER to vCPU `vcpu` (its Xen timers end here).
  void timerFired(uint32_t vcpu);

  /// The rings set up at the last boot (DomainRings.cpp).
  XenRings xenRings() const;
  /// Keyboard input into the console ring's `in` half, as much as fits; the
  /// guest is notified. Returns the bytes taken; ENODEV without a served ring.
  Result<size_t> consoleInput(std::string_view data);

  uint64_t hvmParam(uint32_t index) const;
  void setHvmParam(uint32_t index, uint64_t value);
  /// SCHEDOP_shutdown_code: the reason reported if the domain later shuts down.
  void setShutdownCode(unsigned reason) { shutdownCode_.store(reason); }
  /// Takes `v` down (VCPUOP_down, HLT with interrupts off); when no vCPU is
  /// left up the domain powers off, as Xen's do.
  void takeVcpuDown(Vcpu& v);

 private:
  Status createVcpus();
  smartvm::v1::DomainState stateLocked() const;
  void stopAndJoinLocked();
  void teardownLocked();
  Status startLocked();
  /// Special pages, ports, HVM params and reserved grant entries of the rings.
  Status setUpXenRings();
  void tearDownXenRings();
  /// Takes what the guest left in its console ring into the history now.
  void flushConsoleRing();

  const uint32_t domid_;
  smartvm::v1::DomainConfig config_;
  DomainServices services_;
  std::shared_ptr<spdlog::logger> log_;
  std::array<uint8_t, 16> uuid_{};
  uint64_t createdUnixMs_;

  std::unique_ptr<TimerQueue> ownTimers_;  // when services_ brings none
  std::unique_ptr<VmBackend> vm_;
  std::unique_ptr<GuestRam> ram_;
  std::unique_ptr<SharedInfoPage> sharedInfo_;
  std::unique_ptr<GrantTable> grantTable_;  // its frames live in ram_
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  Bus ioBus_;
  Bus mmioBus_;
  std::shared_ptr<ConsoleBuffer> console_ = std::make_shared<ConsoleBuffer>();
  DomainCounters counters_;

  mutable std::mutex controlMutex_;     // serialises pause/unpause/start/teardown; never taken on vCPU threads
  mutable std::mutex stateMutex_;
  std::mutex vcpuOpMutex_;
  // Guards vm_ against teardown for threads that inject interrupts (other
  // domains' vCPUs, dom0 daemons); never held while waiting for a vCPU.
  std::shared_mutex vmMutex_;  // short sections shared with vCPU threads
  std::shared_mutex memMutex_;  // pinMemory(); exclusive where grantTable_ and ram_ change
  std::atomic<DomainPhase> phase_{DomainPhase::Built};
  std::atomic<unsigned> shutdownReason_{0};
  std::atomic<int> shutdownCode_{-1};
  std::atomic<unsigned> pauseCount_{0};
  bool holdFirstStart_ = false;  ///< guarded by controlMutex_ (set before start)
  std::atomic<uint32_t> restarts_{0};
  std::vector<uint64_t> restartTimesNs_;  // recent restarts, for the restart-loop guard
  std::string crashDetail_;
  std::array<uint64_t, HVM_NR_PARAMS> hvmParams_{};
  mutable std::mutex ringsMutex_;  // rings_ and xenConsole_; teardown resets them under it
  XenRings rings_;
  std::unique_ptr<XenConsole> xenConsole_;  // before ram_ goes: it reads the ring page
};

}  // namespace smartvm::hv
