#include "KvmVm.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <mutex>

#include "KvmVcpu.h"

namespace smartvm::hv {

void installKickHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    sigaction(kKickSignal, &sa, nullptr);
  });
}

KvmVm::~KvmVm() { ::close(fd_); }

Status KvmVm::setMemorySlot(uint32_t slot, uint64_t gpa, uint64_t size, void* hva) {
  kvm_userspace_memory_region r{};
  r.slot = slot;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = reinterpret_cast<uint64_t>(hva);
  if (ioctl(fd_, KVM_SET_USER_MEMORY_REGION, &r) < 0) return errnoStatus("KVM_SET_USER_MEMORY_REGION");
  return Status::ok();
}

Status KvmVm::createIrqchip() {
  if (ioctl(fd_, KVM_CREATE_IRQCHIP, 0) < 0) return errnoStatus("KVM_CREATE_IRQCHIP");
  return Status::ok();
}

Status KvmVm::trapMsrs(const std::vector<uint32_t>& msrs) {
  // KVM implements none of the MSRs Smart-VM traps (0x40000000 is Hyper-V's
  // only when Hyper-V CPUID leaves are exposed, and Smart-VM exposes Xen's), so
  // the guest's access is invalid to KVM and exits to us with reason INVAL.
  // A KVM_X86_SET_MSR_FILTER would say the same at ~13 ms per VM on this host.
  (void)msrs;
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
  cap.args[0] = KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL;
  if (ioctl(fd_, KVM_ENABLE_CAP, &cap) < 0) return errnoStatus("KVM_ENABLE_CAP(X86_USER_SPACE_MSR)");
  return Status::ok();
}

Status KvmVm::signalMsi(uint32_t apicId, uint8_t vector) {
  kvm_msi msi{};
  // xAPIC MSI format: destination in address bits 19:12 (ids above 255 in the
  // extended bits 11:5 go with KVM's x2APIC API, not enabled yet).
  msi.address_lo = 0xfee00000u | ((apicId & 0xffu) << 12);
  msi.data = vector;  // fixed delivery, edge
  const int rc = ioctl(fd_, KVM_SIGNAL_MSI, &msi);
  if (rc < 0) return errnoStatus("KVM_SIGNAL_MSI");
  return Status::ok();
}

Result<std::unique_ptr<VcpuBackend>> KvmVm::createVcpu(uint32_t id) {
  const int fd = ioctl(fd_, KVM_CREATE_VCPU, id);
  if (fd < 0) return errnoStatus("KVM_CREATE_VCPU " + std::to_string(id));
  return KvmVcpu::create(fd, runSize_);
}

}  // namespace smartvm::hv
