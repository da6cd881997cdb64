#pragma once
// A minimal raw-KVM VM for baselines: no smartvm code on its exit path. One
// vCPU in 64-bit mode at CPL0 runs a tiny built-in code blob (RawKvm.cpp).
#include <cstddef>
#include <cstdint>

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

}  // namespace smartvm::bench
