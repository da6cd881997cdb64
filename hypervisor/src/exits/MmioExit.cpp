#include <cstring>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/RateLimitedLog.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

ExitAction handleMmioExit(Vcpu& vcpu, MmioExit& mmio) {
  Domain& d = vcpu.domain();
  const uint32_t len = std::min<uint32_t>(mmio.len, 8);
  Bus::Hit hit = d.mmioBus().find(mmio.addr);
  if (hit.device != nullptr) {
    if (mmio.write) hit.device->write(hit.offset, mmio.data, len);
    else hit.device->read(hit.offset, mmio.data, len);
    return ExitAction::Continue;
  }
  if (!mmio.write) std::memset(mmio.data, 0xff, len);
  if (shouldLog(d.counters().unknownMmio)) {
    d.log().warn("vCPU{}: {} of unbacked guest-physical {:#x} (len {}), {}", vcpu.id(),
                 mmio.write ? "write" : "read", mmio.addr, len, mmio.write ? "ignored" : "returned all-ones");
  }
  return ExitAction::Continue;
}

}  // namespace smartvm::hv
