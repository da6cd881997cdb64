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
