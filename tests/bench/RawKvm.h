#pragma once
// A minimal raw-KVM VM for baselines: no smartvm code on its exit path. One
// vCPU in 64-bit mode at CPL0 runs a tiny built-in code blob (RawKvm.cpp).
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

struct kvm_run;

namespace smartvm::bench {

/// Average TSC cycles per operation of one pass of the guest's two timed loops.
struct RawLoopCycles {
  double out = 0;   ///< `out %al, $0x80`
  double stub = 0;  ///< `call stub` with stub = `mov $17,%eax; out %eax,$0xe4; ret`
  double hcLoop = 0;  ///< the same call in the loop smartvm-guest's hcbench compiles to (10 instructions)
};

class RawVm {
 public:
  enum class Entry {
    Loops,      ///< the two timed loops, `iters` each, then `out $0xf1`; again on re-entry
    FirstExit,  ///< `out %al, $0xf0` as the very first instruction
  };
  /// KVM_CREATE_VM, anonymous RAM + memslot, page tables/GDT/TSS, one vCPU
  /// (KVM_SET_CPUID2 from KVM_GET_SUPPORTED_CPUID, sregs, regs). Throws std::runtime_error.
  RawVm(Entry entry, size_t memBytes, uint64_t iters = 0);
  ~RawVm();
  RawVm(const RawVm&) = delete;
  RawVm& operator=(const RawVm&) = delete;

  /// KVM_RUN until the first exit; throws unless it is the `out $0xf0`.
  void runToFirstExit();
  /// One pass of both loops. With syncRegs the vCPU also copies REGS+SREGS into
  /// kvm_run on every exit, as smartvm-hv does (KVM_CAP_SYNC_REGS).
  RawLoopCycles runLoops(bool syncRegs);

 private:
  int runUntilPort(uint16_t donePort);

  int vm_ = -1;
  int vcpu_ = -1;
  kvm_run* run_ = nullptr;
  size_t runSize_ = 0;
  uint8_t* mem_ = nullptr;
  size_t memSize_ = 0;
  uint64_t iters_ = 0;
};

/// A raw-KVM VM for event baselines: in-kernel irqchip, an IDT whose vector
/// 0x40 handler counts the interrupt and EOIs the LAPIC, and one of three
/// guest loops at CPL0 in 64-bit mode. "Sending" is `out %al, $0xe5`; the vCPU
/// thread calls `onSend` for each, and nothing else: the minimal exit path.
///  - Pong: `sti; hlt` until an interrupt, then one send per interrupt, forever.
///  - Ping: `arg` rounds of send + `sti; hlt` until the interrupt, timed with
///    rdtsc; then `out $0xf1` (pass done) and again on the next pass.
///  - Flood: sends back to back until `arg` TSC cycles passed (an rdtsc
///    deadline check per send); then `out $0xf1`.
class RawEventVm {
 public:
  enum class Role { Pong = 0, Ping = 1, Flood = 2 };
  static constexpr uint8_t kVector = 0x40;

  RawEventVm(Role role, uint64_t arg, size_t memBytes);
  /// Stops and joins the vCPU thread.
  ~RawEventVm();
  RawEventVm(const RawEventVm&) = delete;
  RawEventVm& operator=(const RawEventVm&) = delete;

  /// Starts the vCPU thread. Pong runs at once (returns once its LAPIC takes
  /// interrupts); Ping/Flood wait for pass().
  void start(std::function<void()> onSend);
  /// KVM_SIGNAL_MSI: fixed interrupt kVector to APIC id 0 (any thread).
  void signal();
  /// Ping/Flood: runs one pass and returns its result: Ping = TSC cycles for
  /// the `arg` rounds, Flood = sends. Throws on a guest or KVM error.
  uint64_t pass();
  /// The next pass's `arg` (Ping: rounds, Flood: TSC cycles). Not during a pass.
  void setArg(uint64_t arg);
  /// The guest TSC rate (KVM_GET_TSC_KHZ), 0 if unknown.
  uint32_t tscKhz() const { return tscKhz_; }
  /// Interrupts the guest's handler counted.
  uint64_t interrupts() const;

 private:
  void loop();
  void stop();

  Role role_;
  int vm_ = -1;
  int vcpu_ = -1;
  kvm_run* run_ = nullptr;
  size_t runSize_ = 0;
  uint8_t* mem_ = nullptr;
  size_t memSize_ = 0;
  uint32_t tscKhz_ = 0;
  std::function<void()> onSend_;
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  uint64_t passesWanted_ = 0, passesDone_ = 0;
  bool stop_ = false;
  bool ready_ = false;  // the guest enabled its LAPIC
  std::atomic<bool> stopAsked_{false};  // read by the vCPU thread on its hot path
  std::string error_;
};

}  // namespace smartvm::bench
