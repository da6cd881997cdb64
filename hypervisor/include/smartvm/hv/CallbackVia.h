#pragma once
// Decoding HVM_PARAM_CALLBACK_IRQ, which says how a guest wants its event
// channel upcall delivered (xen/hvm/params.h).
#include <cstdint>
#include <optional>

namespace smartvm::hv {

/// The interrupt vector of a "vector" callback (type HVM_PARAM_CALLBACK_TYPE_VECTOR
/// in bits 63:56, vector in 7:0); nullopt for no callback, other types (GSI,
/// PCI INTx, not emulated yet) and vectors below 0x10, which are exceptions.
std::optional<uint8_t> callbackVector(uint64_t param);

}  // namespace smartvm::hv
