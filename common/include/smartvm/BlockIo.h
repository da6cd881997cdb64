#pragma once
// One read or write of a batch handed to a disk (the block backend's
// BlockDevice::submit, NbdDisk::batch), with its own outcome.
#include <cstddef>
#include <cstdint>

#include "smartvm/Status.h"

namespace smartvm {

struct BlockIo {
  bool write = false;
  uint64_t offset = 0;
  void* buf = nullptr;
  size_t len = 0;
  bool fua = false;  ///< a write durable before its status
  Status status = Status::ok();
};

}  // namespace smartvm
