#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/RegisterDump.h"

#include <fmt/format.h>
#include <xen/sched.h>

namespace smartvm::hv {

std::string formatRegisterDump(const kvm_regs& r, const kvm_sregs& s) {
  std::string out;
  out += fmt::format("RIP={:016x} RSP={:016x} RFLAGS={:08x}\n", r.rip, r.rsp, r.rflags);
  out += fmt::format("RAX={:016x} RBX={:016x} RCX={:016x} RDX={:016x}\n", r.rax, r.rbx, r.rcx, r.rdx);
  out += fmt::format("RSI={:016x} RDI={:016x} RBP={:016x} R8 ={:016x}\n", r.rsi, r.rdi, r.rbp, r.r8);
  out += fmt::format("R9 ={:016x} R10={:016x} R11={:016x} R12={:016x}\n", r.r9, r.r10, r.r11, r.r12);
  out += fmt::format("R13={:016x} R14={:016x} R15={:016x}\n", r.r13, r.r14, r.r15);
  out += fmt::format("CR0={:08x} CR2={:016x} CR3={:016x} CR4={:08x} EFER={:x}\n", s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
  out += fmt::format("CS={:04x} base={:x} l={} db={} dpl={}  SS={:04x} dpl={}\n", s.cs.selector, s.cs.base, s.cs.l,
                     s.cs.db, s.cs.dpl, s.ss.selector, s.ss.dpl);
  out += fmt::format("GDT={:x}/{:x} IDT={:x}/{:x}", s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
  return out;
}

const char* shutdownReasonName(unsigned reason) {
  switch (reason) {
    case SHUTDOWN_poweroff: return "poweroff";
    case SHUTDOWN_reboot: return "reboot";
    case SHUTDOWN_suspend: return "suspend";
    case SHUTDOWN_crash: return "crash";
    case SHUTDOWN_watchdog: return "watchdog";
    case SHUTDOWN_soft_reset: return "soft_reset";
    default: return "unknown";
  }
}

}  // namespace smartvm::hv
