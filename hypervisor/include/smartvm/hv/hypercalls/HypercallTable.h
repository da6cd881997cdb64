#pragma once
// Hypercalls in one table keyed by Xen's numbers (after NOVA's Ec::syscall[]
// and Xen's hypercall-defs.c). Each handler decodes a typed view of its
// arguments; guest pointers go through GuestVirtMemory, which checks them.
// Unknown numbers return -ENOSYS to the guest and are counted.
#include <array>
#include <cstdint>

#include "smartvm/hv/DomainCounters.h"
#include "smartvm/hv/ExitAction.h"
#include "smartvm/hv/memory/GuestVirtMemory.h"

namespace smartvm::hv {

class Vcpu;
class Domain;

/// What a handler works with for one hypercall.
struct HypercallContext {
  Vcpu& vcpu;
  Domain& domain;
  GuestVirtMemory& mem;  ///< the guest's virtual address space, as the guest sees it now
  bool longMode;         ///< 64-bit caller (32-bit callers use the same layouts only where Xen's do)
  ExitAction action = ExitAction::Continue;  ///< set to Stop when the vCPU must not resume
};

using HypercallArgs = std::array<uint64_t, 5>;
using HypercallHandler = int64_t (*)(HypercallContext& ctx, const HypercallArgs& args);

class HypercallTable {
 public:
  /// A table with Smart-VM's standard handlers (docs/guest-abi.md).
  static HypercallTable standard();

  void set(unsigned nr, HypercallHandler handler, bool compat32 = false);
  /// Decodes the hypercall from the vCPU's registers, runs it and writes rax.
  ExitAction dispatch(Vcpu& vcpu) const;
  /// Runs hypercall `nr` (no register decoding): for tests and dispatch.
  int64_t invoke(HypercallContext& ctx, uint64_t nr, const HypercallArgs& args) const;

 private:
  struct Entry {
    HypercallHandler handler = nullptr;
    bool compat32 = false;  ///< safe for 32-bit callers (no pointer-size-dependent layouts)
  };
  std::array<Entry, kMaxHypercall> entries_{};
};

// The handlers (src/hypercalls/<Name>.cpp).
int64_t doXenVersion(HypercallContext& ctx, const HypercallArgs& a);
int64_t doConsoleIo(HypercallContext& ctx, const HypercallArgs& a);
int64_t doSchedOp(HypercallContext& ctx, const HypercallArgs& a);
int64_t doMemoryOp(HypercallContext& ctx, const HypercallArgs& a);
int64_t doHvmOp(HypercallContext& ctx, const HypercallArgs& a);
int64_t doVcpuOp(HypercallContext& ctx, const HypercallArgs& a);
int64_t doEventChannelOp(HypercallContext& ctx, const HypercallArgs& a);
int64_t doSetTimerOp(HypercallContext& ctx, const HypercallArgs& a);
int64_t doGrantTableOp(HypercallContext& ctx, const HypercallArgs& a);

/// Writes the calling vCPU's runstate to its registered area, if any.
void updateRunstateArea(HypercallContext& ctx);

/// Whether a domid argument names the calling domain; otherwise the -errno Xen
/// gives an unprivileged caller (-ESRCH for reserved ids, -EPERM for others).
int64_t checkSelfDomid(const Domain& caller, uint16_t domid);

}  // namespace smartvm::hv
