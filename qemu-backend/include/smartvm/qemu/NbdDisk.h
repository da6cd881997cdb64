#pragma once
// One NBD connection (libnbd) to an export of the storage daemon: the I/O
// path of dom0's block backend. Every call returns when its I/O is done
// (batch() has all of its I/O in flight at once first) and is thread-safe
// (libnbd locks its handle); a daemon that went away makes calls fail with
// an errno, never hang, and reconnect() opens a fresh connection.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "smartvm/BlockIo.h"
#include "smartvm/Result.h"
#include "smartvm/Status.h"

struct nbd_handle;

namespace smartvm::qemu {

class NbdDisk {
 public:
  [[nodiscard]] static Result<NbdDisk> open(const std::string& socketPath, const std::string& exportName);
  NbdDisk(NbdDisk&& o) noexcept;
  NbdDisk& operator=(NbdDisk&& o) noexcept;
  NbdDisk(const NbdDisk&) = delete;
  NbdDisk& operator=(const NbdDisk&) = delete;
  ~NbdDisk();

  uint64_t size() const { return size_; }
  bool readOnly() const { return readOnly_; }
  bool canFlush() const { return canFlush_; }
  bool canTrim() const { return canTrim_; }
  bool canFua() const { return canFua_; }

  [[nodiscard]] Status read(uint64_t offset, void* buf, size_t len);
  /// `fua`: durable before the reply (falls back to a flush when the export lacks FUA).
  [[nodiscard]] Status write(uint64_t offset, const void* buf, size_t len, bool fua = false);
  [[nodiscard]] Status flush();

  using Io = BlockIo;
  /// Carries out every I/O of `ios` with all of them in flight at once
  /// (libnbd's asynchronous API: the daemon serves them concurrently and in
  /// any order), and returns when each has its status. A connection that
  /// fails fails every I/O not yet done.
  void batch(std::span<Io> ios);
  [[nodiscard]] Status discard(uint64_t offset, uint64_t len);
  /// Drops this connection and opens a new one to the same export.
  [[nodiscard]] Status reconnect();

 private:
  NbdDisk(std::string socketPath, std::string exportName) : socket_(std::move(socketPath)), export_(std::move(exportName)) {}
  [[nodiscard]] Status connect();
  [[nodiscard]] Status range(uint64_t offset, uint64_t len, const char* what) const;
  void close();

  std::string socket_, export_;
  nbd_handle* h_ = nullptr;
  uint64_t size_ = 0;
  bool readOnly_ = false, canFlush_ = false, canTrim_ = false, canFua_ = false;
};

}  // namespace smartvm::qemu
