#pragma once
// Test doubles for the KVM seam (kvm/VmBackend.h): a platform, VMs that
// record what the hypervisor asked of them, and vCPUs whose run() returns
// scripted exits and otherwise blocks until kick() (then returns Interrupted),
// so a Domain's real vCPU thread can run them.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "smartvm/hv/kvm/VmBackend.h"

namespace smartvm::hv::test {

class FakeVcpu final : public VcpuBackend {
 public:
  explicit FakeVcpu(uint32_t id) : id_(id) {}

  VcpuExit& run() override;
  kvm_regs& regs() override { return regs_; }
  void markRegsDirty() override { ++dirtyMarks; }
  const kvm_sregs& sregs() override { return sregs_; }
  Result<kvm_sregs> fetchSregs() override { return sregs_; }
  Status setRegs(const kvm_regs& r) override {
    regs_ = r;
    return Status::ok();
  }
  Status setSregs(const kvm_sregs& s) override {
    sregs_ = s;
    return Status::ok();
  }
  Status setCpuid(const std::vector<kvm_cpuid_entry2>& entries) override {
    cpuid = entries;
    return Status::ok();
  }
  Status makeRunnable() override {
    runnableMarks.fetch_add(1);
    return Status::ok();
  }
  Status clearInService(uint8_t vector) override {
    std::lock_guard lk(m_);
    clearedInService.push_back(vector);
    return Status::ok();
  }
  Result<uint64_t> guestTsc() override { return tsc.load(); }
  Result<uint32_t> tscKhz() override { return tscKhzValue; }
  void kick() override;
  bool halted() override { return halt.load(); }
  Result<HaltWake> haltWake() override {
    std::lock_guard lk(m_);
    haltWakeCalls.fetch_add(1);
    return wakeAnswer_;
  }
  /// What haltWake() answers from now on. Thread-safe.
  void setHaltWake(const HaltWake& w) {
    std::lock_guard lk(m_);
    wakeAnswer_ = w;
  }
  void bindToCurrentThread() override {}
  void unbindThread() override {}

  /// Vectors passed to clearInService, in order (under the fake's lock).
  std::vector<uint8_t> inServiceClears() {
    std::lock_guard lk(m_);
    return clearedInService;
  }
  std::atomic<uint64_t> tsc{1000000};
  std::atomic<int> runnableMarks{0};
  uint32_t tscKhzValue = 2000000;  // 2 GHz
  /// What halted() answers: the guest sits in `hlt` inside KVM.
  std::atomic<bool> halt{false};
  std::atomic<int> haltWakeCalls{0};

  /// Queues an exit for a later run(). Thread-safe.
  void script(const VcpuExit& e);
  /// Mutable segment registers, for tests that set up a paging mode.
  kvm_sregs& mutableSregs() { return sregs_; }

  uint32_t id() const { return id_; }
  std::vector<kvm_cpuid_entry2> cpuid;
  int dirtyMarks = 0;
  /// run() calls so far (read after the vCPU thread has stopped, or racily as a hint).
  std::atomic<uint64_t> runs{0};

 private:
  const uint32_t id_;
  kvm_regs regs_{};
  kvm_sregs sregs_{};
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<VcpuExit> queue_;
  std::vector<uint8_t> clearedInService;
  bool kicked_ = false;
  HaltWake wakeAnswer_{};
  VcpuExit current_{};
};

/// What one fake VM was asked to do; outlives the VM.
struct FakeVmRecord {
  struct Slot {
    uint64_t gpa;
    uint64_t size;
    void* hva;
  };
  std::mutex m;
  std::map<uint32_t, Slot> slots;       ///< live slots (size 0 deletes)
  std::vector<uint32_t> slotCalls;      ///< every setMemorySlot slot number, in order
  bool irqchip = false;
  bool irqchipBeforeSlots = false;      ///< createIrqchip came before any slot
  std::vector<uint32_t> trappedMsrs;
  std::vector<uint32_t> vcpuIds;
  std::vector<std::pair<uint32_t, uint8_t>> msis;  ///< (APIC id, vector) per signalMsi
};

class FakePlatform;

class FakeVm final : public VmBackend {
 public:
  FakeVm(FakePlatform& p, std::shared_ptr<FakeVmRecord> rec) : platform_(p), rec_(std::move(rec)) {}
  Status setMemorySlot(uint32_t slot, uint64_t gpa, uint64_t size, void* hva) override;
  Status createIrqchip() override;
  Status trapMsrs(const std::vector<uint32_t>& msrs) override;
  Result<std::unique_ptr<VcpuBackend>> createVcpu(uint32_t id) override;
  Status signalMsi(uint32_t apicId, uint8_t vector) override;

 private:
  FakePlatform& platform_;
  std::shared_ptr<FakeVmRecord> rec_;
};

class FakePlatform final : public Platform {
 public:
  FakePlatform();
  Result<std::unique_ptr<VmBackend>> createVm() override;
  const std::vector<kvm_cpuid_entry2>& supportedCpuid() const override { return cpuid_; }
  std::string describe() const override { return "fake platform"; }

  /// Runs on every new vCPU (e.g. to script its first exits). Set before use.
  std::function<void(FakeVcpu&)> onCreateVcpu;
  /// One record per createVm(), oldest first.
  std::vector<std::shared_ptr<FakeVmRecord>> vms() {
    std::lock_guard lk(m_);
    return vms_;
  }

 private:
  std::vector<kvm_cpuid_entry2> cpuid_;
  std::mutex m_;
  std::vector<std::shared_ptr<FakeVmRecord>> vms_;
};

/// The small host CPUID table FakePlatform offers.
std::vector<kvm_cpuid_entry2> fakeHostCpuid();

}  // namespace smartvm::hv::test
