#include "kernel/Smp.h"

#include <xen/hvm/hvm_vcpu.h>

#include "kernel/Cpu.h"
#include "kernel/Events.h"
#include "kernel/Hypercall.h"
#include "kernel/Idt.h"
#include "kernel/PhysAlloc.h"
#include "kernel/Shutdown.h"
#include "kernel/Tss.h"
#include "kernel/XenTime.h"

extern "C" {
void ap_entry();
[[noreturn]] void ap_main(PerCpu* c);
}

namespace smp {

uint32_t detectVcpus() {
  uint32_t n = 0;
  while (n < MAX_CPUS && xen::vcpuOp(VCPUOP_is_up, n, nullptr) >= 0) ++n;
  return n;
}

uint32_t vcpusFromCmdline(const Cmdline& cmdline) {
  const uint32_t have = detectVcpus();
  const uint64_t n = cmdline.numberOrFail("vcpus", have);
  if (n == 0 || n > MAX_CPUS) fail(Line().str("vcpus= must be 1..").dec(MAX_CPUS));
  if (n > have) fail(Line().str("vcpus=").dec(n).str(" but the domain has ").dec(have).str(" vCPU(s)"));
  return static_cast<uint32_t>(n);
}

long isUp(uint32_t id) { return xen::vcpuOp(VCPUOP_is_up, id, nullptr); }

long down(uint32_t id) { return xen::vcpuOp(VCPUOP_down, id, nullptr); }

bool startAp(uint32_t id, void (*entry)(PerCpu&), void* arg, Line& why) {
  if (id == 0 || id >= MAX_CPUS) {
    why.str("vCPU ").dec(id).str(" cannot be an AP");
    return false;
  }
  long rc = isUp(id);
  if (rc != 0) {
    why.str("VCPUOP_is_up(").dec(id).str(") before up = ").sdec(rc).str(", want 0");
    return false;
  }
  // The AP runs on [stack, stackTop); above it lies its trap stack (TSS
  // rsp0), so an exception from CPL3 does not overwrite the live frames.
  void* stack = physAlloc().alloc(AP_STACK_SIZE + TRAP_STACK_SIZE);
  if (stack == nullptr) {
    why.str("no RAM for vCPU ").dec(id).str("'s stack");
    return false;
  }
  PerCpu& c = percpu::cpu(id);
  c.id = id;
  c.stackTop = reinterpret_cast<uintptr_t>(stack) + AP_STACK_SIZE;
  c.entry = entry;
  c.arg = arg;
  storeShared(c.online, 0u);
  storeShared(c.finished, 0u);

  vcpu_hvm_context ctx{};
  ctx.mode = VCPU_HVM_MODE_64B;
  vcpu_hvm_x86_64& r = ctx.cpu_regs.x86_64;
  r.rip = reinterpret_cast<uintptr_t>(ap_entry);
  r.rsp = c.stackTop;
  r.rdi = reinterpret_cast<uintptr_t>(&c);
  r.rflags = 0x2;
  r.cr0 = cpu::readCr0();
  r.cr3 = cpu::readCr3();
  r.cr4 = cpu::readCr4();
  r.efer = EFER_LME | EFER_LMA;  // no NX in the identity map
  rc = xen::vcpuOp(VCPUOP_initialise, id, &ctx);
  if (rc != 0) {
    why.str("VCPUOP_initialise(").dec(id).str(") rc=").sdec(rc);
    return false;
  }
  rc = xen::vcpuOp(VCPUOP_up, id, nullptr);
  if (rc != 0) {
    why.str("VCPUOP_up(").dec(id).str(") rc=").sdec(rc);
    return false;
  }
  if (!yieldUntil([&] { return loadShared(c.online) != 0; })) {
    why.str("vCPU ").dec(id).str(" did not come online");
    return false;
  }
  rc = isUp(id);
  if (rc != 1) {
    why.str("VCPUOP_is_up(").dec(id).str(") after up = ").sdec(rc).str(", want 1");
    return false;
  }
  return true;
}

}  // namespace smp

extern "C" [[noreturn]] void ap_main(PerCpu* c) {
  idt::load();
  tss::init(c->id, c->stackTop + TRAP_STACK_SIZE);  // see startAp()
  percpu::setGsBase(*c);
  events::initCpu(*c);
  storeShared(c->online, 1u);
  c->entry(*c);
  storeShared(c->finished, 1u);
  for (;;) events::blockOnce();  // until VCPUOP_down
}
