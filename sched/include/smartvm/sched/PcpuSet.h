#pragma once
// N pCPU slots handed to vCPU threads by a Scheduler. Each guest vCPU keeps its
// own host thread (its KVM vCPU fd, kvm_run mapping and signal mask stay on
// one thread, and a blocking hypercall can sleep right in its handler), but
// it may enter the guest only while it holds a pCPU. A pCPU is a slot bound
// to one host core: at most N vCPUs run at once, each pinned to its slot's
// core, and the policy decides which.
//
// Who decides for a pCPU: the thread that holds it (at a checkpoint after an
// exit, once its slot was tickled by the policy, a slice end or its own
// block), or, for an idle pCPU, whichever thread tickled it. A decision hands
// the slot to the chosen vCPU's thread and wakes it. Once that thread has
// taken the slot up (waitForPcpu or enter) it may be in the guest, so from
// then on only it lets go of the slot: any other thread kicks it instead of
// deciding, or two vCPUs would run on one pCPU until the first one's exit. A
// slot granted but not yet taken up is still decided by anyone (the thread
// may be parked: an offline vCPU's).
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "smartvm/sched/Scheduler.h"

namespace smartvm::sched {

class PcpuSet final : public PcpuSignal {
 public:
  /// When the policy gives no slice, the pCPU decides again after this long.
  static constexpr Ns kMaxHold = 30 * kNsPerMs;

  struct Hooks {
    /// Takes `v` out of guest mode soon (a KVM kick); never called for the
    /// calling thread's own vCPU.
    std::function<void(SchedVcpu& v)> kick;
    /// Calls reschedule(pcpu) at time `at` (a later call for the same pCPU replaces it).
    std::function<void(unsigned pcpu, Ns at)> armSlice;
    /// Binds the calling thread to pCPU `pcpu`'s host core.
    std::function<void(unsigned pcpu)> pinThread;
    /// The SchedVcpu the calling thread runs, or nullptr (timer, event threads).
    std::function<SchedVcpu*()> selfVcpu;
    /// Optional: a vCPU began waiting for a pCPU (PcpuSignal::waiting), so a
    /// holder idling inside the guest should be looked at soon.
    std::function<void()> waiting;
  };

  PcpuSet(unsigned pcpus, Hooks hooks);
  /// The scheduler whose decisions this set carries out (before any use).
  void attach(Scheduler& s) { sched_ = &s; }

  /// PcpuSignal: pCPU `pcpu` must decide again.
  void reschedule(unsigned pcpu) override;
  /// PcpuSignal: passed on to Hooks::waiting.
  void waiting() override;

  // --- the vCPU thread's side ---
  /// Waits until `v` holds a pCPU and returns it (taken up: `v` may enter the
  /// guest); nullopt once stop() was called.
  std::optional<unsigned> waitForPcpu(SchedVcpu& v);
  /// If `v` holds a pCPU that no other thread is deciding, takes it up (as
  /// waitForPcpu does) and returns true; else the caller waits in waitForPcpu.
  bool enter(SchedVcpu& v);
  /// After each guest exit: if `v`'s pCPU was asked to decide again, decides
  /// now (on this thread). True if `v` still holds a pCPU afterwards.
  bool checkpoint(SchedVcpu& v);
  /// The pCPU `v` holds, or -1.
  int pcpuOf(const SchedVcpu& v) const;
  /// Makes `v`'s current or next waitForPcpu() return nullopt once (its
  /// thread must look at pause, stop or down first).
  void interrupt(const SchedVcpu& v);
  /// Wakes every waiter for good (shutdown).
  void stop();
  bool stopped() const;
  /// Drops what the set remembers of `v` (its vCPU is gone; it holds no pCPU).
  void forget(const SchedVcpu& v);

 private:
  struct Slot {
    SchedVcpu* holder = nullptr;
    bool deciding = false;  ///< some thread runs decide() for it
    bool pending = false;   ///< asked to decide again
    SchedVcpu* handoff = nullptr;  ///< chosen but still running elsewhere
    bool entered = false;  ///< the holder's thread took the slot up (may be in the guest)
  };
  bool canTakeUp(const SchedVcpu& v) const;
  void decide(unsigned pcpu);
  void retryHandoffs();

  const unsigned n_;
  Hooks hooks_;
  Scheduler* sched_ = nullptr;
  mutable std::mutex m_;
  std::condition_variable granted_;
  std::vector<Slot> slots_;
  std::unordered_map<const SchedVcpu*, int> pcpuOf_;
  std::unordered_map<const SchedVcpu*, bool> interrupted_;
  bool stopping_ = false;
};

}  // namespace smartvm::sched
