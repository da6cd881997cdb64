#pragma once
// The real backend: /dev/kvm. Everything KVM-specific stays in src/kvm/.
#include <memory>
#include <string>
#include <vector>

#include "smartvm/hv/kvm/VmBackend.h"

namespace smartvm::hv {

class KvmPlatform final : public Platform {
 public:
  /// Opens /dev/kvm (or `path`) and checks the capabilities Smart-VM needs.
  static Result<std::unique_ptr<KvmPlatform>> open(const std::string& path = "/dev/kvm");
  ~KvmPlatform() override;

  Result<std::unique_ptr<VmBackend>> createVm() override;
  const std::vector<kvm_cpuid_entry2>& supportedCpuid() const override { return cpuid_; }
  std::string describe() const override;

 private:
  KvmPlatform(int fd, int runSize, std::vector<kvm_cpuid_entry2> cpuid)
      : fd_(fd), runSize_(runSize), cpuid_(std::move(cpuid)) {}
  int fd_;
  int runSize_;
  std::vector<kvm_cpuid_entry2> cpuid_;
};

/// Why /dev/kvm cannot be used here, or empty if it can (tests use this to skip).
std::string kvmUnavailableReason(const std::string& path = "/dev/kvm");

}  // namespace smartvm::hv
