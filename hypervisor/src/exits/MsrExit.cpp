#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/HypercallPage.h"
#include "smartvm/hv/RateLimitedLog.h"
#include "smartvm/hv/Vcpu.h"
#include "smartvm/hv/XenCpuid.h"

namespace smartvm::hv {
namespace {

// Xen: the low 12 bits pick the hypercall page (only one exists); the rest is
// its guest-physical address. Anything else faults with #GP.
bool installHypercallPage(Vcpu& vcpu, uint64_t value) {
  Domain& d = vcpu.domain();
  const uint64_t index = value & 0xfff;
  const uint64_t gpa = value & ~0xfffull;
  uint8_t* page = index == 0 ? d.ram().hostPtr(gpa, GuestRam::kPageSize) : nullptr;
  if (page == nullptr) {
    d.log().warn("vCPU{}: hypercall page MSR write {:#x} refused (#GP): {}", vcpu.id(), value,
                 index != 0 ? "page index must be 0" : "address is not guest RAM");
    return false;
  }
  fillHypercallPage(page);
  d.log().debug("vCPU{}: hypercall page installed at {:#x}", vcpu.id(), gpa);
  return true;
}

}  // namespace

ExitAction handleMsrExit(Vcpu& vcpu, MsrExit& msr, bool write) {
  Domain& d = vcpu.domain();
  if (msr.index == kXenHypercallMsr) {
    // The MSR is write-only on Xen: reads fault.
    *msr.error = (write && installHypercallPage(vcpu, *msr.data)) ? 0 : 1;
    return ExitAction::Continue;
  }
  *msr.error = 1;
  if (shouldLog(d.counters().unknownMsrs)) {
    d.log().warn("vCPU{}: {} of unhandled MSR {:#x}: #GP", vcpu.id(), write ? "wrmsr" : "rdmsr", msr.index);
  }
  return ExitAction::Continue;
}

}  // namespace smartvm::hv
