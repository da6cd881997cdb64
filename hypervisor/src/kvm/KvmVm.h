#pragma once
#include "smartvm/hv/kvm/VmBackend.h"

namespace smartvm::hv {

/// Installs the no-op handler for the signal that kicks vCPU threads out of KVM_RUN.
void installKickHandler();

class KvmVm final : public VmBackend {
 public:
  KvmVm(int fd, int runSize) : fd_(fd), runSize_(runSize) {}
  ~KvmVm() override;

  Status setMemorySlot(uint32_t slot, uint64_t gpa, uint64_t size, void* hva) override;
  Status createIrqchip() override;
  Status trapMsrs(const std::vector<uint32_t>& msrs) override;
  Result<std::unique_ptr<VcpuBackend>> createVcpu(uint32_t id) override;
  Status signalMsi(uint32_t apicId, uint8_t vector) override;

 private:
  int fd_;
  int runSize_;
};

}  // namespace smartvm::hv
