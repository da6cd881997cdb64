#pragma once
// `smartvm evtchn-list` output: a domain's event channel ports as a table, the
// facts Xen's 'e' debug key prints per port. Pure functions.
#include <cstdint>
#include <string>
#include <vector>

#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

/// Columns: Port, State, Target (interdomain "dom D port P", unbound "dom D",
/// virq "VIRQ_NAME (N)", else "-"), vCPU (the notify vCPU), Pending and
/// Masked (0/1, as Xen's [p/m] flags). One line per port, in the order given.
std::string formatEventChannels(const std::vector<v1::EventChannel>& ports);

/// Xen's name for a VIRQ number ("VIRQ_DOM_EXC"), or "VIRQ N" if it has none.
std::string virqName(uint32_t virq);

/// Lower-case state name ("interdomain").
std::string eventChannelStateName(v1::EventChannelState state);

}  // namespace smartvm::dom0
