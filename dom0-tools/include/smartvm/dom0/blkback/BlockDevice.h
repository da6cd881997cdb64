#pragma once
// What the block backend needs of a disk: sizes, flags and the four I/O
// calls. NbdBlockDevice serves it from qemu-storage-daemon; tests use memory.
#include <cstddef>
#include <cstdint>
#include <span>

#include "smartvm/BlockIo.h"
#include "smartvm/Status.h"

namespace smartvm::dom0::blkback {

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  virtual uint64_t sizeBytes() const = 0;
  virtual bool readOnly() const = 0;
  virtual bool canDiscard() const = 0;
  [[nodiscard]] virtual Status read(uint64_t offset, void* buf, size_t len) = 0;
  /// `fua`: durable before it returns.
  [[nodiscard]] virtual Status write(uint64_t offset, const void* buf, size_t len, bool fua) = 0;
  [[nodiscard]] virtual Status flush() = 0;
  [[nodiscard]] virtual Status discard(uint64_t offset, uint64_t len) = 0;

  using Io = BlockIo;
  /// Carries out every I/O of `ios`, in no promised order (the engine never
  /// puts overlapping ones in one batch), each with its own status. A device
  /// that can have several in flight at once overrides it; this one runs
  /// them one after another.
  virtual void submit(std::span<Io> ios) {
    for (Io& io : ios) io.status = io.write ? write(io.offset, io.buf, io.len, io.fua) : read(io.offset, io.buf, io.len);
  }
};

}  // namespace smartvm::dom0::blkback
