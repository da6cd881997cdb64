#include "RawKvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "smartvm/hv/kvm/KvmAbi.h"

// The guest code, copied to guest-physical 0x10000 (identity mapped). rdi = iters.
// Results go to the mailbox at 0x40000: [0] cycles of the out loop, [1] of the call loop,
// [2] of the call loop shaped like smartvm-guest's hcbench loop.
extern "C" const unsigned char smartvm_bench_raw_guest[], smartvm_bench_raw_first[], smartvm_bench_raw_guest_end[];
__asm__(R"(
.pushsection .rodata
.balign 16
.globl smartvm_bench_raw_guest
smartvm_bench_raw_guest:
	mov %rdi, %rcx
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r8
1:	out %al, $0x80
	dec %rcx
	jnz 1b
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	sub %r8, %rax
	mov %rax, 0x40000
	mov %rdi, %rcx
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r8
2:	call .Lsmartvm_bench_stub
	dec %rcx
	jnz 2b
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	sub %r8, %rax
	mov %rax, 0x40008
	/* the same call, in the exact loop smartvm-guest's hcbench compiles to:
	   xen_version(XENVER_version, NULL) = 5 argument moves + call + counter */
	push %rbx
	push %rbp
	mov %rdi, %rbp
	xor %ebx, %ebx
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r9
3:	xor %edi, %edi
	xor %r10d, %r10d
	xor %r8d, %r8d
	mov %rdi, %rsi
	mov %rdi, %rdx
	call .Lsmartvm_bench_stub
	mov %rbx, %rdi
	add $1, %rbx
	cmp %rbx, %rbp
	jne 3b
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	sub %r9, %rax
	mov %rax, 0x40010
	mov %rbp, %rdi
	pop %rbp
	pop %rbx
	out %al, $0xf1
	jmp smartvm_bench_raw_guest
.balign 32
.Lsmartvm_bench_stub:
	mov $17, %eax
	out %eax, $0xe4
	ret
.balign 16
.globl smartvm_bench_raw_first
smartvm_bench_raw_first:
	out %al, $0xf0
	jmp smartvm_bench_raw_first
.globl smartvm_bench_raw_guest_end
smartvm_bench_raw_guest_end:
.popsection
)");

namespace smartvm::bench {
namespace {

constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kGdt = 0x7000, kTss = 0x9000;
constexpr uint64_t kCode = 0x10000, kMailbox = 0x40000, kStackTop = 0x80000;
constexpr uint16_t kPortFirst = 0xf0, kPortDone = 0xf1;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("raw KVM: " + what + ": " + std::strerror(errno));
}

int kvmFd() {
  static int fd = -1;
  static std::once_flag once;
  std::call_once(once, [] { fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC); });
  if (fd < 0) fail("open /dev/kvm");
  return fd;
}

// KVM_GET_SUPPORTED_CPUID once per process (as a hypervisor would cache it).
const std::vector<uint8_t>& supportedCpuid() {
  static std::vector<uint8_t> buf;
  static std::once_flag once;
  std::call_once(once, [] {
    constexpr uint32_t n = 256;
    buf.assign(sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2), 0);
    auto* c = reinterpret_cast<kvm_cpuid2*>(buf.data());
    c->nent = n;
    if (ioctl(kvmFd(), KVM_GET_SUPPORTED_CPUID, c) < 0) buf.clear();
  });
  if (buf.empty()) fail("KVM_GET_SUPPORTED_CPUID");
  return buf;
}

kvm_segment flatSegment(uint16_t sel, uint8_t type, bool code) {
  kvm_segment s{};
  s.selector = sel;
  s.limit = 0xffffffff;
  s.type = type;
  s.present = 1;
  s.s = 1;
  s.g = 1;
  if (code) s.l = 1; else s.db = 1;
  return s;
}

}  // namespace

RawVm::RawVm(Entry entry, size_t memBytes, uint64_t iters) : memSize_(memBytes), iters_(iters) {
  const int kvm = kvmFd();
  vm_ = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm_ < 0) fail("KVM_CREATE_VM");
  void* m = mmap(nullptr, memSize_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) fail("mmap guest RAM");
  mem_ = static_cast<uint8_t*>(m);
  kvm_userspace_memory_region slot{};
  slot.slot = 0;
  slot.guest_phys_addr = 0;
  slot.memory_size = memSize_;
  slot.userspace_addr = reinterpret_cast<uint64_t>(mem_);
  if (ioctl(vm_, KVM_SET_USER_MEMORY_REGION, &slot) < 0) fail("KVM_SET_USER_MEMORY_REGION");

  // Identity map of the first 1 GiB with 2 MiB pages, a flat GDT and a TSS.
  auto* pml4 = reinterpret_cast<uint64_t*>(mem_ + kPml4);
  auto* pdpt = reinterpret_cast<uint64_t*>(mem_ + kPdpt);
  auto* pd = reinterpret_cast<uint64_t*>(mem_ + kPd);
  pml4[0] = kPdpt | 3;
  pdpt[0] = kPd | 3;
  for (uint64_t j = 0; j < 512; ++j) pd[j] = (j << 21) | 0x83;  // P RW PS
  auto* gdt = reinterpret_cast<uint64_t*>(mem_ + kGdt);
  gdt[1] = 0x00af9b000000ffffULL;  // 0x08 code64
  gdt[2] = 0x00cf93000000ffffULL;  // 0x10 data
  gdt[3] = 0x67 | ((kTss & 0xffffff) << 16) | (0x89ULL << 40);  // 0x18 TSS
  const size_t codeLen = static_cast<size_t>(smartvm_bench_raw_guest_end - smartvm_bench_raw_guest);
  std::memcpy(mem_ + kCode, smartvm_bench_raw_guest, codeLen);

  int runSize = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (runSize < 0) fail("KVM_GET_VCPU_MMAP_SIZE");
  runSize_ = static_cast<size_t>(runSize);
  vcpu_ = ioctl(vm_, KVM_CREATE_VCPU, 0);
  if (vcpu_ < 0) fail("KVM_CREATE_VCPU");
  void* r = mmap(nullptr, runSize_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_, 0);
  if (r == MAP_FAILED) fail("mmap kvm_run");
  run_ = static_cast<kvm_run*>(r);
  if (ioctl(vcpu_, KVM_SET_CPUID2, supportedCpuid().data()) < 0) fail("KVM_SET_CPUID2");

  kvm_sregs s{};
  if (ioctl(vcpu_, KVM_GET_SREGS, &s) < 0) fail("KVM_GET_SREGS");
  s.cs = flatSegment(0x08, 0xb, true);
  s.ds = s.es = s.fs = s.gs = s.ss = flatSegment(0x10, 0x3, false);
  s.tr = kvm_segment{};
  s.tr.selector = 0x18;
  s.tr.base = kTss;
  s.tr.limit = 0x67;
  s.tr.type = 11;
  s.tr.present = 1;
  s.gdt.base = kGdt;
  s.gdt.limit = 5 * 8 - 1;  // the TSS descriptor is 16 bytes
  s.idt.base = 0;
  s.idt.limit = 0;
  s.cr0 = 0x80050033;  // PG WP NE ET MP PE
  s.cr3 = kPml4;
  s.cr4 = 0x620;       // PAE OSFXSR OSXMMEXCPT
  s.efer = 0xd01;      // LME LMA SCE NXE
  if (ioctl(vcpu_, KVM_SET_SREGS, &s) < 0) fail("KVM_SET_SREGS");
  kvm_regs regs{};
  const uint64_t entryOff = entry == Entry::Loops
                                ? 0
                                : static_cast<uint64_t>(smartvm_bench_raw_first - smartvm_bench_raw_guest);
  regs.rip = kCode + entryOff;
  regs.rsp = kStackTop;
  regs.rdi = iters_;
  regs.rflags = 2;
  if (ioctl(vcpu_, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
}

RawVm::~RawVm() {
  if (run_) munmap(run_, runSize_);
  if (vcpu_ >= 0) ::close(vcpu_);
  if (vm_ >= 0) ::close(vm_);
  if (mem_) munmap(mem_, memSize_);
}

// The whole exit path: KVM_RUN, look at the port, re-enter at once.
int RawVm::runUntilPort(uint16_t donePort) {
  for (;;) {
    if (ioctl(vcpu_, KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail("KVM_RUN");
    }
    if (run_->exit_reason != KVM_EXIT_IO) {
      errno = 0;
      throw std::runtime_error("raw KVM: unexpected exit reason " + std::to_string(run_->exit_reason));
    }
    const uint16_t port = run_->io.port;
    if (port == donePort) return port;
    if (port != 0x80 && port != 0xe4) {
      throw std::runtime_error("raw KVM: unexpected port " + std::to_string(port));
    }
  }
}

void RawVm::runToFirstExit() {
  run_->kvm_valid_regs = 0;
  runUntilPort(kPortFirst);
}

RawLoopCycles RawVm::runLoops(bool syncRegs) {
  run_->kvm_valid_regs = syncRegs ? (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS) : 0;
  runUntilPort(kPortDone);
  const auto* mb = reinterpret_cast<const volatile uint64_t*>(mem_ + kMailbox);
  const double n = static_cast<double>(iters_ ? iters_ : 1);
  return {static_cast<double>(mb[0]) / n, static_cast<double>(mb[1]) / n, static_cast<double>(mb[2]) / n};
}

}  // namespace smartvm::bench

// ---------------------------------------------------------------- event baseline
// The guest code of RawEventVm, copied to guest-physical 0x10000. rdi = role
// (0 pong, 1 ping, 2 flood). Mailbox at 0x40000: [0] interrupts counted by the
// handler, [1] ping: cycles of the last pass, [2] flood: sends of the last
// pass, [3] the pass's argument (ping: rounds, flood: TSC cycles).
extern "C" const unsigned char smartvm_bench_ev_guest[], smartvm_bench_ev_handler[], smartvm_bench_ev_spurious[],
    smartvm_bench_ev_bad[], smartvm_bench_ev_guest_end[];
__asm__(R"(
.pushsection .rodata
.balign 16
.globl smartvm_bench_ev_guest
smartvm_bench_ev_guest:
	mov $0xfee000f0, %eax
	movl $0x1ff, (%rax)         /* LAPIC SVR: software enable, spurious vector 0xff */
	out %al, $0xf3              /* ready: interrupts are accepted from here on */
	cmp $1, %rdi
	je .Lev_ping
	cmp $2, %rdi
	je .Lev_flood
	/* pong: one send per interrupt, waiting with sti; hlt */
	xor %ebx, %ebx
1:	cli
	mov 0x40000, %rax
	cmp %rax, %rbx
	jb 2f
	sti
	hlt
	jmp 1b
2:	out %al, $0xe5
	inc %rbx
	jmp 1b
.Lev_ping:
	mov 0x40000, %rbx
	mov 0x40018, %rcx           /* rounds */
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r8
3:	out %al, $0xe5
	inc %rbx
4:	cli
	mov 0x40000, %rax
	cmp %rbx, %rax
	jae 5f
	sti
	hlt
	jmp 4b
5:	dec %rcx
	jnz 3b
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	sub %r8, %rax
	mov %rax, 0x40008
	out %al, $0xf1
	jmp .Lev_ping
.Lev_flood:
	mov 0x40018, %rsi           /* TSC cycles to flood for */
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	lea (%rax,%rsi), %r9
	xor %ebx, %ebx
6:	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	cmp %r9, %rax
	jae 7f
	out %al, $0xe5
	inc %rbx
	jmp 6b
7:	mov %rbx, 0x40010
	out %al, $0xf1
	jmp .Lev_flood
.balign 16
.globl smartvm_bench_ev_handler
smartvm_bench_ev_handler:          /* vector 0x40: count, EOI */
	push %rax
	incq 0x40000
	mov $0xfee000b0, %eax
	movl $0, (%rax)
	pop %rax
	iretq
.balign 16
.globl smartvm_bench_ev_spurious
smartvm_bench_ev_spurious:         /* vector 0xff: no EOI */
	iretq
.balign 16
.globl smartvm_bench_ev_bad
smartvm_bench_ev_bad:              /* any other vector: report and stop */
	out %al, $0xf2
	cli
	hlt
	jmp smartvm_bench_ev_bad
.globl smartvm_bench_ev_guest_end
smartvm_bench_ev_guest_end:
.popsection
)");

namespace smartvm::bench {
namespace {

constexpr uint64_t kApicPd = 0x4000, kIdt = 0x5000;
constexpr uint16_t kPortSend = 0xe5, kPortBadVector = 0xf2, kPortReady = 0xf3;

uint64_t gate(uint64_t offset) {
  return (offset & 0xffff) | (uint64_t{0x08} << 16) | (uint64_t{0x8e} << 40) | (((offset >> 16) & 0xffff) << 48);
}

}  // namespace

RawEventVm::RawEventVm(Role role, uint64_t arg, size_t memBytes) : role_(role), memSize_(memBytes) {
  const int kvm = kvmFd();
  vm_ = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm_ < 0) fail("KVM_CREATE_VM");
  if (ioctl(vm_, KVM_CREATE_IRQCHIP, 0) < 0) fail("KVM_CREATE_IRQCHIP");
  void* m = mmap(nullptr, memSize_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) fail("mmap guest RAM");
  mem_ = static_cast<uint8_t*>(m);
  kvm_userspace_memory_region slot{};
  slot.slot = 0;
  slot.guest_phys_addr = 0;
  slot.memory_size = memSize_;
  slot.userspace_addr = reinterpret_cast<uint64_t>(mem_);
  if (ioctl(vm_, KVM_SET_USER_MEMORY_REGION, &slot) < 0) fail("KVM_SET_USER_MEMORY_REGION");

  // Identity map of the first 1 GiB, plus the LAPIC page (uncached) at 0xfee00000.
  auto* pml4 = reinterpret_cast<uint64_t*>(mem_ + kPml4);
  auto* pdpt = reinterpret_cast<uint64_t*>(mem_ + kPdpt);
  auto* pd = reinterpret_cast<uint64_t*>(mem_ + kPd);
  auto* apicPd = reinterpret_cast<uint64_t*>(mem_ + kApicPd);
  pml4[0] = kPdpt | 3;
  pdpt[0] = kPd | 3;
  pdpt[3] = kApicPd | 3;
  for (uint64_t j = 0; j < 512; ++j) pd[j] = (j << 21) | 0x83;  // P RW PS
  apicPd[(0xfee00000ULL >> 21) & 511] = 0xfee00000ULL | 0x93;   // P RW PCD PS
  auto* gdt = reinterpret_cast<uint64_t*>(mem_ + kGdt);
  gdt[1] = 0x00af9b000000ffffULL;
  gdt[2] = 0x00cf93000000ffffULL;
  gdt[3] = 0x67 | ((kTss & 0xffffff) << 16) | (0x89ULL << 40);
  const size_t codeLen = static_cast<size_t>(smartvm_bench_ev_guest_end - smartvm_bench_ev_guest);
  std::memcpy(mem_ + kCode, smartvm_bench_ev_guest, codeLen);
  auto at = [](const unsigned char* sym) { return kCode + static_cast<uint64_t>(sym - smartvm_bench_ev_guest); };
  auto* idt = reinterpret_cast<uint64_t*>(mem_ + kIdt);
  for (unsigned v = 0; v < 256; ++v) {
    const uint64_t h = v == kVector ? at(smartvm_bench_ev_handler)
                       : v == 0xff  ? at(smartvm_bench_ev_spurious)
                                    : at(smartvm_bench_ev_bad);
    idt[2 * v] = gate(h);
    idt[2 * v + 1] = h >> 32;
  }

  int runSize = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (runSize < 0) fail("KVM_GET_VCPU_MMAP_SIZE");
  runSize_ = static_cast<size_t>(runSize);
  vcpu_ = ioctl(vm_, KVM_CREATE_VCPU, 0);
  if (vcpu_ < 0) fail("KVM_CREATE_VCPU");
  void* r = mmap(nullptr, runSize_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_, 0);
  if (r == MAP_FAILED) fail("mmap kvm_run");
  run_ = static_cast<kvm_run*>(r);
  if (ioctl(vcpu_, KVM_SET_CPUID2, supportedCpuid().data()) < 0) fail("KVM_SET_CPUID2");
  const int khz = ioctl(vcpu_, KVM_GET_TSC_KHZ, 0);
  tscKhz_ = khz > 0 ? static_cast<uint32_t>(khz) : 0;

  kvm_sregs s{};
  if (ioctl(vcpu_, KVM_GET_SREGS, &s) < 0) fail("KVM_GET_SREGS");
  s.cs = flatSegment(0x08, 0xb, true);
  s.ds = s.es = s.fs = s.gs = s.ss = flatSegment(0x10, 0x3, false);
  s.tr = kvm_segment{};
  s.tr.selector = 0x18;
  s.tr.base = kTss;
  s.tr.limit = 0x67;
  s.tr.type = 11;
  s.tr.present = 1;
  s.gdt.base = kGdt;
  s.gdt.limit = 5 * 8 - 1;
  s.idt.base = kIdt;
  s.idt.limit = 256 * 16 - 1;
  s.cr0 = 0x80050033;
  s.cr3 = kPml4;
  s.cr4 = 0x620;
  s.efer = 0xd01;
  if (ioctl(vcpu_, KVM_SET_SREGS, &s) < 0) fail("KVM_SET_SREGS");
  kvm_regs regs{};
  regs.rip = kCode;
  regs.rsp = kStackTop;
  regs.rdi = static_cast<uint64_t>(role);
  setArg(arg);
  regs.rflags = 2;
  if (ioctl(vcpu_, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
}

RawEventVm::~RawEventVm() {
  stop();
  if (run_) munmap(run_, runSize_);
  if (vcpu_ >= 0) ::close(vcpu_);
  if (vm_ >= 0) ::close(vm_);
  if (mem_) munmap(mem_, memSize_);
}

void RawEventVm::start(std::function<void()> onSend) {
  onSend_ = std::move(onSend);
  thread_ = std::thread([this] { loop(); });
  if (role_ != Role::Pong) return;  // the others start running at pass()
  std::unique_lock lk(m_);
  cv_.wait(lk, [&] { return ready_ || !error_.empty(); });
  if (!error_.empty()) throw std::runtime_error("raw KVM event VM: " + error_);
}

void RawEventVm::signal() {
  kvm_msi msi{};
  msi.address_lo = 0xfee00000u;  // APIC id 0
  msi.data = kVector;            // fixed, edge
  if (ioctl(vm_, KVM_SIGNAL_MSI, &msi) < 0) fail("KVM_SIGNAL_MSI");
}

void RawEventVm::setArg(uint64_t arg) { reinterpret_cast<volatile uint64_t*>(mem_ + kMailbox)[3] = arg; }

uint64_t RawEventVm::interrupts() const {
  return *reinterpret_cast<const volatile uint64_t*>(mem_ + kMailbox);
}

uint64_t RawEventVm::pass() {
  std::unique_lock lk(m_);
  const uint64_t want = ++passesWanted_;
  cv_.notify_all();
  cv_.wait(lk, [&] { return passesDone_ >= want || !error_.empty() || stop_; });
  if (!error_.empty()) throw std::runtime_error("raw KVM event VM: " + error_);
  const auto* mb = reinterpret_cast<const volatile uint64_t*>(mem_ + kMailbox);
  return role_ == Role::Ping ? mb[1] : mb[2];
}

// The whole exit path: KVM_RUN, look at the port, call onSend, re-enter.
void RawEventVm::loop() {
  auto setError = [this](std::string e) {
    std::lock_guard lk(m_);
    error_ = std::move(e);
    cv_.notify_all();
  };
  uint64_t started = 0;
  for (;;) {
    if (role_ != Role::Pong && started == passesDone_) {  // wait for the next pass
      std::unique_lock lk(m_);
      cv_.wait(lk, [&] { return passesWanted_ > passesDone_ || stop_; });
      if (stop_) return;
      ++started;
    }
    if (stopAsked_.load(std::memory_order_relaxed)) return;
    if (ioctl(vcpu_, KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return setError(std::string("KVM_RUN: ") + std::strerror(errno));
    }
    if (run_->exit_reason != KVM_EXIT_IO) return setError("unexpected exit reason " + std::to_string(run_->exit_reason));
    const uint16_t port = run_->io.port;
    if (port == kPortSend) {
      if (stopAsked_.load(std::memory_order_relaxed)) return;
      onSend_();
    } else if (port == kPortDone) {
      std::lock_guard lk(m_);
      ++passesDone_;
      cv_.notify_all();
    } else if (port == kPortReady) {
      std::lock_guard lk(m_);
      ready_ = true;
      cv_.notify_all();
    } else if (port == kPortBadVector) {
      return setError("unexpected interrupt or exception in the guest");
    } else {
      return setError("unexpected port " + std::to_string(port));
    }
  }
}

void RawEventVm::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lk(m_);
    stop_ = true;
    stopAsked_.store(true);
    cv_.notify_all();
  }
  // A pong sits in hlt inside KVM_RUN: an interrupt makes it send, and the
  // thread sees the stop at that exit.
  if (role_ == Role::Pong) {
    kvm_msi msi{};
    msi.address_lo = 0xfee00000u;
    msi.data = kVector;
    (void)ioctl(vm_, KVM_SIGNAL_MSI, &msi);
  }
  thread_.join();
}

}  // namespace smartvm::bench
