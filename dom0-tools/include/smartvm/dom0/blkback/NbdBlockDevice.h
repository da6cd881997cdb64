#pragma once
// A BlockDevice served by an export of qemu-storage-daemon over NBD.
#include "smartvm/dom0/blkback/BlockDevice.h"
#include "smartvm/qemu/NbdDisk.h"

namespace smartvm::dom0::blkback {

class NbdBlockDevice final : public BlockDevice {
 public:
  explicit NbdBlockDevice(qemu::NbdDisk disk) : disk_(std::move(disk)) {}
  uint64_t sizeBytes() const override { return disk_.size(); }
  bool readOnly() const override { return disk_.readOnly(); }
  bool canDiscard() const override { return disk_.canTrim(); }
  Status read(uint64_t offset, void* buf, size_t len) override { return disk_.read(offset, buf, len); }
  Status write(uint64_t offset, const void* buf, size_t len, bool fua) override {
    return disk_.write(offset, buf, len, fua);
  }
  Status flush() override { return disk_.flush(); }
  Status discard(uint64_t offset, uint64_t len) override { return disk_.discard(offset, len); }
  /// All in flight at once over the NBD connection.
  void submit(std::span<Io> ios) override { disk_.batch(ios); }
  qemu::NbdDisk& nbd() { return disk_; }

 private:
  qemu::NbdDisk disk_;
};

}  // namespace smartvm::dom0::blkback
