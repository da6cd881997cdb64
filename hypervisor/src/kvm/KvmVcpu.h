#pragma once
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <mutex>

#include "smartvm/hv/kvm/LapicPage.h"
#include "smartvm/hv/kvm/VmBackend.h"

namespace smartvm::hv {

/// The signal that kicks a vCPU thread out of KVM_RUN.
inline const int kKickSignal = SIGRTMIN;

class KvmVcpu final : public VcpuBackend {
 public:
  static Result<std::unique_ptr<VcpuBackend>> create(int fd, int runSize);
  ~KvmVcpu() override;

  VcpuExit& run() override;
  kvm_regs& regs() override { return run_->s.regs.regs; }
  void markRegsDirty() override { run_->kvm_dirty_regs |= KVM_SYNC_X86_REGS; }
  const kvm_sregs& sregs() override { return run_->s.regs.sregs; }
  Result<kvm_sregs> fetchSregs() override;
  Status setRegs(const kvm_regs& r) override;
  Status setSregs(const kvm_sregs& s) override;
  Status setCpuid(const std::vector<kvm_cpuid_entry2>& entries) override;
  Status makeRunnable() override;
  Status clearInService(uint8_t vector) override;
  Result<uint64_t> guestTsc() override;
  Result<uint32_t> tscKhz() override;
  void kick() override;
  bool halted() override;
  Result<HaltWake> haltWake() override;
  void bindToCurrentThread() override;
  void unbindThread() override;

 private:
  KvmVcpu(int fd, kvm_run* run, int runSize) : fd_(fd), run_(run), runSize_(runSize) {}
  void decode();
  Result<TscDeadline> tscDeadline();

  int fd_;
  kvm_run* run_;
  int runSize_;
  VcpuExit exit_;
  // Guards thread_/bound_ so that kick() cannot signal a thread between its
  // unbindThread() and its exit.
  std::mutex threadMutex_;
  pthread_t thread_{};
  bool bound_ = false;
};

}  // namespace smartvm::hv
