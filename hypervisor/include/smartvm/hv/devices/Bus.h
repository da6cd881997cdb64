#pragma once
// An address-range bus (port I/O or MMIO) of small devices, refusing overlaps
// (after Firecracker's Bus/BusDevice).
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "smartvm/Status.h"

namespace smartvm::hv {

/// A device on a bus. Offsets are relative to the device's base address;
/// size is 1..8 bytes. Calls come from vCPU threads: devices lock themselves.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(uint64_t offset, uint8_t* data, uint32_t size) = 0;
  virtual void write(uint64_t offset, const uint8_t* data, uint32_t size) = 0;
  virtual std::string name() const = 0;
};

class Bus {
 public:
  /// Adds a device at [base, base + len). EEXIST if it overlaps another; EINVAL if empty or wrapping.
  Status insert(std::shared_ptr<BusDevice> dev, uint64_t base, uint64_t len);

  struct Hit {
    BusDevice* device;
    uint64_t offset;
  };
  /// The device whose range holds `addr`, or {nullptr, 0}.
  Hit find(uint64_t addr) const;

 private:
  struct Range {
    uint64_t len;
    std::shared_ptr<BusDevice> dev;
  };
  std::map<uint64_t, Range> ranges_;  // by base address
};

}  // namespace smartvm::hv
