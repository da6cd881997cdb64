#include "smartvm/hv/kvm/KvmPlatform.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "KvmVm.h"

namespace smartvm::hv {
namespace {

Result<std::vector<kvm_cpuid_entry2>> querySupportedCpuid(int fd) {
  for (size_t n = 64; n <= 4096; n *= 2) {
    std::vector<uint8_t> buf(sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2));
    auto* c = reinterpret_cast<kvm_cpuid2*>(buf.data());
    c->nent = static_cast<uint32_t>(n);
    if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
      return std::vector<kvm_cpuid_entry2>(c->entries, c->entries + c->nent);
    }
    if (errno != E2BIG) return errnoStatus("KVM_GET_SUPPORTED_CPUID");
  }
  return error(E2BIG, "KVM_GET_SUPPORTED_CPUID: too many leaves");
}

Status requireCap(int fd, int cap, const char* name) {
  if (ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0) return Status::ok();
  return error(ENODEV, std::string("KVM lacks ") + name + ", which Smart-VM needs");
}

}  // namespace

Result<std::unique_ptr<KvmPlatform>> KvmPlatform::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return errnoStatus("open " + path);
  auto fail = [fd](Status s) -> Result<std::unique_ptr<KvmPlatform>> {
    ::close(fd);
    return s;
  };
  if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) return fail(error(ENODEV, "unexpected KVM API version"));
  for (auto [cap, name] : {std::pair{KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS"},
                           std::pair{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
                           std::pair{KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR"},
                           std::pair{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"}}) {
    if (Status s = requireCap(fd, cap, name); !s) return fail(s);
  }
  const int runSize = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (runSize <= 0) return fail(errnoStatus("KVM_GET_VCPU_MMAP_SIZE"));
  auto cpuid = querySupportedCpuid(fd);
  if (!cpuid) return fail(cpuid.status());
  installKickHandler();
  return std::unique_ptr<KvmPlatform>(new KvmPlatform(fd, runSize, std::move(cpuid).value()));
}

KvmPlatform::~KvmPlatform() { ::close(fd_); }

Result<std::unique_ptr<VmBackend>> KvmPlatform::createVm() {
  const int vm = ioctl(fd_, KVM_CREATE_VM, 0);
  if (vm < 0) return errnoStatus("KVM_CREATE_VM");
  return std::unique_ptr<VmBackend>(new KvmVm(vm, runSize_));
}

std::string KvmPlatform::describe() const {
  return "KVM API " + std::to_string(ioctl(fd_, KVM_GET_API_VERSION, 0)) + ", max vCPUs " +
         std::to_string(ioctl(fd_, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS)) + ", Xen HVM support in KVM: " +
         (ioctl(fd_, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM) > 0 ? "yes" : "no (hypercalls exit by port I/O)");
}

std::string kvmUnavailableReason(const std::string& path) {
  auto p = KvmPlatform::open(path);
  if (p) return {};
  return p.status().toString();
}

}  // namespace smartvm::hv
