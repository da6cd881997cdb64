#include <cstring>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/HypercallPage.h"
#include "smartvm/hv/RateLimitedLog.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

ExitAction handleIoExit(Vcpu& vcpu, IoExit& io, const HypercallTable& hypercalls) {
  Domain& d = vcpu.domain();
  if (io.port == kHypercallPort && !io.in) return hypercalls.dispatch(vcpu);
  const uint32_t size = io.size;
  if (size == 0 || size > 4) return ExitAction::Continue;
  Bus::Hit hit = d.ioBus().find(io.port);
  for (uint32_t i = 0; i < io.count; ++i) {
    uint8_t* data = io.data + static_cast<size_t>(i) * size;
    if (hit.device != nullptr) {
      if (io.in) hit.device->read(hit.offset, data, size);
      else hit.device->write(hit.offset, data, size);
    } else if (io.in) {
      std::memset(data, 0xff, size);  // nothing decodes this port: the bus floats high
    }
  }
  if (hit.device == nullptr && shouldLog(d.counters().unknownPorts)) {
    d.log().warn("vCPU{}: {} of unknown port {:#x} (size {}), {}", vcpu.id(), io.in ? "read" : "write", io.port,
                 size, io.in ? "returned all-ones" : "ignored");
  }
  return ExitAction::Continue;
}

}  // namespace smartvm::hv
