#pragma once
// The one seam between Smart-VM and /dev/kvm. Everything above it (exit
// dispatch, hypercalls, domains) runs against these interfaces, so unit tests
// drive it with fakes and no KVM.
#include "smartvm/hv/kvm/KvmAbi.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/Status.h"
#include "smartvm/hv/kvm/HaltWake.h"
#include "smartvm/hv/kvm/VcpuExit.h"

namespace smartvm::hv {

/// One virtual CPU. Not thread-safe, except kick(), which another thread may
/// call at any time to make run() return ExitReason::Interrupted promptly.
class VcpuBackend {
 public:
  virtual ~VcpuBackend() = default;

  /// Enters the guest until the next exit and decodes it. The returned
  /// reference stays valid until the next run().
  virtual VcpuExit& run() = 0;

  /// General registers as of the last exit (kept in sync without an ioctl
  /// where the backend can). Call markRegsDirty() after changing them.
  virtual kvm_regs& regs() = 0;
  virtual void markRegsDirty() = 0;
  /// Segment and control registers as of the last exit.
  virtual const kvm_sregs& sregs() = 0;

  /// Reads the segment and control registers with an ioctl (for setup, not the hot path).
  virtual Result<kvm_sregs> fetchSregs() = 0;
  virtual Status setRegs(const kvm_regs& r) = 0;
  virtual Status setSregs(const kvm_sregs& s) = 0;
  virtual Status setCpuid(const std::vector<kvm_cpuid_entry2>& entries) = 0;

  /// Marks an application processor runnable (KVM starts every vCPU but the
  /// first waiting for INIT/SIPI); VCPUOP_initialise starts it directly.
  virtual Status makeRunnable() = 0;
  /// Clears `vector` in the local APIC's in-service register, as an EOI for
  /// that vector alone would (Xen's callback vector needs no guest EOI).
  /// Only while the vCPU is outside run(), on the thread that runs it.
  virtual Status clearInService(uint8_t vector) = 0;
  /// The guest's TSC now (IA32_TSC as the guest reads it). Outside run() only.
  virtual Result<uint64_t> guestTsc() = 0;
  /// The guest TSC's frequency in kHz.
  virtual Result<uint32_t> tscKhz() = 0;

  /// Makes the current or next run() return Interrupted. Safe to call from
  /// any thread (not from a signal handler); the backend signals the thread
  /// inside run().
  virtual void kick() = 0;
  /// Whether the guest sits in `hlt` inside KVM (KVM_MP_STATE_HALTED): with
  /// the in-kernel LAPIC it idles in KVM_RUN until an interrupt arrives.
  virtual bool halted() { return false; }
  /// For a halted vCPU, outside run(): whether its LAPIC already holds a
  /// deliverable interrupt and when its timer fires. A backend without a LAPIC
  /// timer answers "nothing": only Smart-VM's own events wake the vCPU then.
  virtual Result<HaltWake> haltWake() { return HaltWake{}; }
  /// Records which host thread calls run(), so kick() can signal it.
  virtual void bindToCurrentThread() = 0;
  /// Called by that thread before it exits: kick() must never signal a
  /// thread that is gone (its pthread_t may already be freed or reused).
  virtual void unbindThread() = 0;
};

/// One virtual machine: its memory slots, interrupt controller and vCPUs.
class VmBackend {
 public:
  virtual ~VmBackend() = default;

  /// Maps [gpa, gpa + size) to host memory at `hva`; size 0 deletes the slot.
  virtual Status setMemorySlot(uint32_t slot, uint64_t gpa, uint64_t size, void* hva) = 0;
  /// Creates the in-kernel LAPIC/IOAPIC/PIC. Call after the RAM slots exist.
  virtual Status createIrqchip() = 0;
  /// Makes guest accesses to these MSRs exit to user space (reads and writes),
  /// as do accesses to MSRs KVM does not know or refuses. The listed MSRs must
  /// be ones KVM does not implement for this guest.
  virtual Status trapMsrs(const std::vector<uint32_t>& msrs) = 0;
  virtual Result<std::unique_ptr<VcpuBackend>> createVcpu(uint32_t id) = 0;
  /// Delivers a fixed, edge-triggered interrupt `vector` to the LAPIC with id
  /// `apicId` (an MSI through the in-kernel irqchip). Any thread may call it.
  virtual Status signalMsi(uint32_t apicId, uint8_t vector) = 0;
};

/// The host's virtualisation facility.
class Platform {
 public:
  virtual ~Platform() = default;
  virtual Result<std::unique_ptr<VmBackend>> createVm() = 0;
  /// CPUID leaves the host can offer guests.
  virtual const std::vector<kvm_cpuid_entry2>& supportedCpuid() const = 0;
  /// One line describing the facility, for `smartvm info`.
  virtual std::string describe() const = 0;
};

}  // namespace smartvm::hv
