#include "smartvm/hv/devices/PostCodePort.h"

#include <cstring>

namespace smartvm::hv {

void PostCodePort::read(uint64_t, uint8_t* data, uint32_t size) { std::memset(data, 0xff, size); }

void PostCodePort::write(uint64_t, const uint8_t* data, uint32_t size) {
  if (size > 0) last_.store(data[0]);
}

}  // namespace smartvm::hv
