#pragma once
// Port 0x80, the POST diagnostic port: guests write it as an I/O delay, so it
// is accepted and ignored without a log line. Also the cheapest exit, used by
// the hypercall benchmark as the port-I/O baseline.
#include <atomic>

#include "smartvm/hv/devices/Bus.h"

namespace smartvm::hv {

class PostCodePort final : public BusDevice {
 public:
  void read(uint64_t, uint8_t* data, uint32_t size) override;
  void write(uint64_t, const uint8_t* data, uint32_t size) override;
  std::string name() const override { return "post-code"; }
  uint8_t lastCode() const { return last_.load(); }

 private:
  std::atomic<uint8_t> last_{0};
};

}  // namespace smartvm::hv
