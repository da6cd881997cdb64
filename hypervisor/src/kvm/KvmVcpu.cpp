#include "KvmVcpu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace smartvm::hv {

Result<std::unique_ptr<VcpuBackend>> KvmVcpu::create(int fd, int runSize) {
  void* p = mmap(nullptr, static_cast<size_t>(runSize), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    Status s = errnoStatus("mmap kvm_run");
    ::close(fd);
    return s;
  }
  auto* run = static_cast<kvm_run*>(p);
  // Registers travel in kvm_run on every exit, so a hypercall costs no extra ioctl.
  run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
  return std::unique_ptr<VcpuBackend>(new KvmVcpu(fd, run, runSize));
}

KvmVcpu::~KvmVcpu() {
  munmap(run_, static_cast<size_t>(runSize_));
  ::close(fd_);
}

VcpuExit& KvmVcpu::run() {
  run_->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
  const int rc = ioctl(fd_, KVM_RUN, 0);
  run_->kvm_dirty_regs = 0;
  if (rc < 0) {
    const int err = errno;
    run_->immediate_exit = 0;
    exit_.rawReason = static_cast<uint32_t>(err) | 0x10000u;
    exit_.reason = (err == EINTR || err == EAGAIN) ? ExitReason::Interrupted : ExitReason::Unknown;
    return exit_;
  }
  decode();
  return exit_;
}

void KvmVcpu::decode() {
  exit_.rawReason = run_->exit_reason;
  auto* base = reinterpret_cast<uint8_t*>(run_);
  switch (run_->exit_reason) {
    case KVM_EXIT_IO:
      exit_.reason = ExitReason::Io;
      exit_.io = {run_->io.port, run_->io.size, run_->io.direction == KVM_EXIT_IO_IN, run_->io.count,
                  base + run_->io.data_offset};
      return;
    case KVM_EXIT_MMIO:
      exit_.reason = ExitReason::Mmio;
      exit_.mmio = {run_->mmio.phys_addr, run_->mmio.len, run_->mmio.is_write != 0, run_->mmio.data};
      return;
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
      exit_.reason = run_->exit_reason == KVM_EXIT_X86_RDMSR ? ExitReason::MsrRead : ExitReason::MsrWrite;
      exit_.msr = {run_->msr.index, run_->msr.reason, reinterpret_cast<uint64_t*>(&run_->msr.data), &run_->msr.error};
      return;
    case KVM_EXIT_HLT: exit_.reason = ExitReason::Hlt; return;
    case KVM_EXIT_SHUTDOWN: exit_.reason = ExitReason::Shutdown; return;
    case KVM_EXIT_INTR: exit_.reason = ExitReason::Interrupted; return;
    case KVM_EXIT_FAIL_ENTRY:
      exit_.reason = ExitReason::FailEntry;
      exit_.failEntryReason = run_->fail_entry.hardware_entry_failure_reason;
      return;
    case KVM_EXIT_INTERNAL_ERROR:
      exit_.reason = ExitReason::InternalError;
      exit_.internal.suberror = run_->internal.suberror;
      exit_.internal.ndata = std::min<uint32_t>(run_->internal.ndata, 16);
      std::memcpy(exit_.internal.data, run_->internal.data, exit_.internal.ndata * sizeof(uint64_t));
      return;
    default: exit_.reason = ExitReason::Unknown; return;
  }
}

Result<kvm_sregs> KvmVcpu::fetchSregs() {
  kvm_sregs s{};
  if (ioctl(fd_, KVM_GET_SREGS, &s) < 0) return errnoStatus("KVM_GET_SREGS");
  return s;
}

Status KvmVcpu::setRegs(const kvm_regs& r) {
  if (ioctl(fd_, KVM_SET_REGS, &r) < 0) return errnoStatus("KVM_SET_REGS");
  run_->s.regs.regs = r;
  return Status::ok();
}

Status KvmVcpu::setSregs(const kvm_sregs& s) {
  if (ioctl(fd_, KVM_SET_SREGS, &s) < 0) return errnoStatus("KVM_SET_SREGS");
  run_->s.regs.sregs = s;
  return Status::ok();
}

Status KvmVcpu::setCpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  std::vector<uint8_t> buf(sizeof(kvm_cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2));
  auto* c = reinterpret_cast<kvm_cpuid2*>(buf.data());
  c->nent = static_cast<uint32_t>(entries.size());
  std::memcpy(c->entries, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  if (ioctl(fd_, KVM_SET_CPUID2, c) < 0) return errnoStatus("KVM_SET_CPUID2");
  return Status::ok();
}

Status KvmVcpu::makeRunnable() {
  kvm_mp_state mp{};
  mp.mp_state = KVM_MP_STATE_RUNNABLE;
  if (ioctl(fd_, KVM_SET_MP_STATE, &mp) < 0) return errnoStatus("KVM_SET_MP_STATE");
  return Status::ok();
}

bool KvmVcpu::halted() {
  kvm_mp_state mp{};
  return ioctl(fd_, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == KVM_MP_STATE_HALTED;
}

Result<HaltWake> KvmVcpu::haltWake() {
  kvm_lapic_state st{};
  if (ioctl(fd_, KVM_GET_LAPIC, &st) < 0) return errnoStatus("KVM_GET_LAPIC");
  static_assert(sizeof st.regs == LapicPage::kSize);
  const auto* bytes = reinterpret_cast<const uint8_t*>(st.regs);
  const LapicPage page(std::span<const uint8_t, LapicPage::kSize>(bytes, LapicPage::kSize));
  std::optional<TscDeadline> tsc;
  if (!page.timerMasked() && page.timerMode() == LapicTimerMode::TscDeadline) {
    Result<TscDeadline> t = tscDeadline();
    if (!t) return t.status();
    tsc = *t;
  }
  return page.haltWake(tsc);
}

Result<TscDeadline> KvmVcpu::tscDeadline() {
  struct {
    kvm_msrs hdr;
    kvm_msr_entry entries[2];
  } m{};
  m.hdr.nmsrs = 2;
  m.entries[0].index = 0x6e0;  // IA32_TSC_DEADLINE
  m.entries[1].index = 0x10;   // IA32_TIME_STAMP_COUNTER
  if (ioctl(fd_, KVM_GET_MSRS, &m) != 2) return errnoStatus("KVM_GET_MSRS(IA32_TSC_DEADLINE, IA32_TSC)");
  Result<uint32_t> khz = tscKhz();
  if (!khz) return khz.status();
  return TscDeadline{m.entries[0].data, m.entries[1].data, *khz};
}

Status KvmVcpu::clearInService(uint8_t vector) {
  kvm_lapic_state st{};
  if (ioctl(fd_, KVM_GET_LAPIC, &st) < 0) return errnoStatus("KVM_GET_LAPIC");
  // ISR: eight 32-bit registers from APIC offset 0x100, 16 bytes apart.
  const size_t off = 0x100 + (vector / 32u) * 0x10;
  uint32_t isr = 0;
  std::memcpy(&isr, st.regs + off, sizeof isr);
  const uint32_t bit = 1u << (vector % 32u);
  if ((isr & bit) == 0) return Status::ok();
  isr &= ~bit;
  std::memcpy(st.regs + off, &isr, sizeof isr);
  if (ioctl(fd_, KVM_SET_LAPIC, &st) < 0) return errnoStatus("KVM_SET_LAPIC");
  return Status::ok();
}

Result<uint64_t> KvmVcpu::guestTsc() {
  struct {
    kvm_msrs hdr;
    kvm_msr_entry entry;
  } m{};
  m.hdr.nmsrs = 1;
  m.entry.index = 0x10;  // IA32_TIME_STAMP_COUNTER
  if (ioctl(fd_, KVM_GET_MSRS, &m) != 1) return errnoStatus("KVM_GET_MSRS(IA32_TSC)");
  return static_cast<uint64_t>(m.entry.data);
}

Result<uint32_t> KvmVcpu::tscKhz() {
  const int khz = ioctl(fd_, KVM_GET_TSC_KHZ, 0);
  if (khz <= 0) return errnoStatus("KVM_GET_TSC_KHZ");
  return static_cast<uint32_t>(khz);
}

void KvmVcpu::bindToCurrentThread() {
  std::lock_guard lk(threadMutex_);
  thread_ = pthread_self();
  bound_ = true;
}

void KvmVcpu::unbindThread() {
  std::lock_guard lk(threadMutex_);
  bound_ = false;
}

void KvmVcpu::kick() {
  // immediate_exit covers the window before the thread enters KVM_RUN; the
  // signal covers a thread already inside it.
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  std::lock_guard lk(threadMutex_);
  if (bound_) pthread_kill(thread_, kKickSignal);
}

}  // namespace smartvm::hv
