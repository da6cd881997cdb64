#include "smartvm/dom0/cli/EventChannelFormat.h"

#include <fmt/format.h>

namespace smartvm::dom0 {
namespace {

constexpr const char* kRow = "{:>5}  {:<12} {:<24} {:>4} {:>8} {:>7}\n";

std::string target(const v1::EventChannel& p) {
  switch (p.state()) {
    case v1::EVENT_CHANNEL_STATE_INTERDOMAIN: return fmt::format("dom {} port {}", p.remote_domid(), p.remote_port());
    case v1::EVENT_CHANNEL_STATE_UNBOUND: return fmt::format("dom {}", p.remote_domid());
    case v1::EVENT_CHANNEL_STATE_VIRQ: return fmt::format("{} ({})", virqName(p.virq()), p.virq());
    default: return "-";
  }
}

}  // namespace

std::string virqName(uint32_t virq) {
  // xen/include/public/xen.h; 16 is x86's VIRQ_ARCH_0, VIRQ_MCA.
  switch (virq) {
    case 0: return "VIRQ_TIMER";
    case 1: return "VIRQ_DEBUG";
    case 2: return "VIRQ_CONSOLE";
    case 3: return "VIRQ_DOM_EXC";
    case 4: return "VIRQ_TBUF";
    case 6: return "VIRQ_DEBUGGER";
    case 7: return "VIRQ_XENOPROF";
    case 8: return "VIRQ_CON_RING";
    case 9: return "VIRQ_PCPU_STATE";
    case 10: return "VIRQ_MEM_EVENT";
    case 11: return "VIRQ_ARGO";
    case 12: return "VIRQ_ENOMEM";
    case 13: return "VIRQ_XENPMU";
    case 16: return "VIRQ_MCA";
    default: return fmt::format("VIRQ {}", virq);
  }
}

std::string eventChannelStateName(v1::EventChannelState state) {
  switch (state) {
    case v1::EVENT_CHANNEL_STATE_CLOSED: return "closed";
    case v1::EVENT_CHANNEL_STATE_RESERVED: return "reserved";
    case v1::EVENT_CHANNEL_STATE_UNBOUND: return "unbound";
    case v1::EVENT_CHANNEL_STATE_INTERDOMAIN: return "interdomain";
    case v1::EVENT_CHANNEL_STATE_VIRQ: return "virq";
    case v1::EVENT_CHANNEL_STATE_IPI: return "ipi";
    default: return "unknown";
  }
}

std::string formatEventChannels(const std::vector<v1::EventChannel>& ports) {
  std::string out = fmt::format(kRow, "Port", "State", "Target", "vCPU", "Pending", "Masked");
  for (const v1::EventChannel& p : ports) {
    out += fmt::format(kRow, p.port(), eventChannelStateName(p.state()), target(p), p.notify_vcpu(),
                       p.pending() ? 1 : 0, p.masked() ? 1 : 0);
  }
  return out;
}

}  // namespace smartvm::dom0
