#pragma once
// Shared helpers for the hypervisor unit tests: a PVH kernel file, domain
// configs, and a harness that boots one Domain on FakePlatform and drives
// exits and hypercalls through the real ExitDispatcher on the test thread.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <xen/elfnote.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "FakeBackend.h"
#include "TestElfBuilder.h"
#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/HypercallPage.h"
#include "smartvm/hv/memory/PagingState.h"

namespace smartvm::hv::test {

inline constexpr uint64_t kMiB = 1ull << 20;

/// A file under /tmp removed at scope end.
class TempFile {
 public:
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    char tmpl[] = "/tmp/smartvm-hv-test-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp");
    path_ = tmpl;
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// An ELF64 with one PT_LOAD at 1 MiB and XEN_ELFNOTE_PHYS32_ENTRY = 1 MiB.
inline std::vector<uint8_t> tinyPvhKernel() {
  TestElfBuilder b;
  b.segments.push_back({0x100000, TestElfBuilder::pattern(0x1000, 3), 0x1000});
  b.notes.push_back({"Xen", XEN_ELFNOTE_PHYS32_ENTRY, TestElfBuilder::le32(0x100000)});
  return b.build();
}

inline smartvm::v1::DomainConfig makeConfig(const std::string& name, const std::string& kernel,
                                            uint64_t memMib = 64, uint32_t vcpus = 1) {
  smartvm::v1::DomainConfig c;
  c.set_name(name);
  c.set_memory_mib(memMib);
  c.set_vcpus(vcpus);
  c.set_kernel(kernel);
  return c;
}

/// Polls `pred` every 2 ms for up to `timeout`.
inline bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

// Where the harness puts the guest's 4-level identity page tables.
inline constexpr uint64_t kPml4 = 0x20000, kPdpt = 0x21000, kPd = 0x22000;

/// One booted Domain on FakePlatform. start() leaves it paused, so its vCPU
/// thread is parked and the test thread can dispatch exits on vCPU 0.
class DomainHarness {
 public:
  explicit DomainHarness(const std::string& name = "guest", uint64_t memMib = 64, uint32_t vcpus = 1,
                         uint32_t domid = 7, evtchn::EventChannels* eventChannels = nullptr,
                         std::function<std::unique_ptr<VcpuGate>(uint32_t, uint32_t)> makeGate = nullptr,
                         Dom0EventChannels* dom0Events = nullptr)
      : kernel_(tinyPvhKernel()), table_(HypercallTable::standard()), dispatcher_(table_) {
    auto cfg = makeConfig(name, kernel_.path(), memMib, vcpus);
    cfg.set_start_paused(true);
    DomainServices s{&platform_, &dispatcher_, [this](uint32_t id) {
                       shutdownCalls.fetch_add(1);
                       lastShutdownDomid.store(id);
                     },
                     "", eventChannels, nullptr, std::move(makeGate)};
    s.dom0Events = dom0Events;
    domain_ = std::make_unique<Domain>(domid, cfg, s);
  }

  /// boot() + start() (paused) + 64-bit paging; false on failure.
  ::testing::AssertionResult bootAndStart() {
    Status s = domain_->boot();
    if (!s) return ::testing::AssertionFailure() << "boot: " << s.toString();
    s = domain_->start();
    if (!s) return ::testing::AssertionFailure() << "start: " << s.toString();
    setLongMode();
    // Deterministic from here on: the vCPU thread sits parked and never touches the backend.
    if (!waitUntil([this] { return domain_->vcpu(0)->runState() == VcpuRunState::Parked; }))
      return ::testing::AssertionFailure() << "vCPU 0 did not park";
    return ::testing::AssertionSuccess();
  }

  Domain& domain() { return *domain_; }
  Vcpu& vcpu(uint32_t i = 0) { return *domain_->vcpu(i); }
  FakeVcpu& fake(uint32_t i = 0) { return static_cast<FakeVcpu&>(domain_->vcpu(i)->backend()); }
  FakePlatform& platform() { return platform_; }
  const ExitDispatcher& dispatcher() const { return dispatcher_; }

  uint8_t* gpa(uint64_t addr, uint64_t len = 1) { return domain_->ram().hostPtr(addr, len); }
  template <class T>
  void put(uint64_t addr, const T& v) {
    std::memcpy(gpa(addr, sizeof(T)), &v, sizeof(T));
  }
  template <class T>
  T get(uint64_t addr) {
    T v;
    std::memcpy(&v, gpa(addr, sizeof(T)), sizeof(T));
    return v;
  }

  /// Identity-mapped 4-level paging (2 MiB pages over the first 1 GiB), CPL0, 64-bit code.
  void setLongMode() {
    std::memset(gpa(kPml4, 3 * 4096), 0, 3 * 4096);
    put<uint64_t>(kPml4, kPdpt | 3);
    put<uint64_t>(kPdpt, kPd | 3);
    for (uint64_t i = 0; i < 512; ++i) put<uint64_t>(kPd + i * 8, (i << 21) | 0x83);
    kvm_sregs& s = fake().mutableSregs();
    s.cr0 = paging::kCr0Pg | paging::kCr0Wp | 1;
    s.cr4 = paging::kCr4Pae;
    s.efer = paging::kEferLme | paging::kEferLma;
    s.cr3 = kPml4;
    s.cs.l = 1;
    s.cs.db = 0;
    s.ss.dpl = 0;
  }

  /// 32-bit protected mode, paging off: a 32-bit hypercall caller.
  void setCompat32() {
    kvm_sregs& s = fake().mutableSregs();
    s.cr0 = 1;
    s.cr4 = 0;
    s.efer = 0;
    s.cr3 = 0;
    s.cs.l = 0;
    s.cs.db = 1;
    s.ss.dpl = 0;
  }

  /// Issues hypercall `nr` as the hypercall page would (64-bit: rdi, rsi, rdx, r10, r8).
  int64_t hypercall(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                    uint64_t a4 = 0, ExitAction* action = nullptr) {
    kvm_regs& r = fake().regs();
    r.rax = nr;
    r.rdi = a0;
    r.rsi = a1;
    r.rdx = a2;
    r.r10 = a3;
    r.r8 = a4;
    const ExitAction a = hypercallExit();
    if (action) *action = a;
    return static_cast<int64_t>(fake().regs().rax);
  }

  /// Issues a hypercall with 32-bit register conventions (ebx, ecx, edx, esi, edi); returns raw rax.
  uint64_t hypercall32(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0) {
    kvm_regs& r = fake().regs();
    r.rax = nr;
    r.rbx = a0;
    r.rcx = a1;
    r.rdx = a2;
    hypercallExit();
    return fake().regs().rax;
  }

  /// The port-I/O exit the hypercall stub causes: out %eax, $0xe4.
  ExitAction hypercallExit() {
    uint32_t data = static_cast<uint32_t>(fake().regs().rax);
    VcpuExit e{};
    e.reason = ExitReason::Io;
    e.io = IoExit{kHypercallPort, 4, false, 1, reinterpret_cast<uint8_t*>(&data)};
    return dispatcher_.dispatch(vcpu(), e);
  }

  ExitAction dispatch(VcpuExit& e) { return dispatcher_.dispatch(vcpu(), e); }

  std::atomic<int> shutdownCalls{0};
  std::atomic<uint32_t> lastShutdownDomid{0};

 private:
  TempFile kernel_;
  FakePlatform platform_;
  HypercallTable table_;
  ExitDispatcher dispatcher_;
  std::unique_ptr<Domain> domain_;  // last: its vCPU threads use the dispatcher
};

}  // namespace smartvm::hv::test
