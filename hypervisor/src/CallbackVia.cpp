#include "smartvm/hv/CallbackVia.h"

#include <xen/hvm/params.h>

namespace smartvm::hv {

std::optional<uint8_t> callbackVector(uint64_t param) {
  if ((param >> 56) != HVM_PARAM_CALLBACK_TYPE_VECTOR) return std::nullopt;
  const uint8_t vector = static_cast<uint8_t>(param & 0xff);
  if (vector < 0x10) return std::nullopt;
  return vector;
}

}  // namespace smartvm::hv
