#include "smartvm/qemu/NbdDisk.h"

#include <libnbd.h>

#include <utility>
#include <vector>

namespace smartvm::qemu {

namespace {

/// libnbd's last error on this thread, as a Status.
Status nbdError(const std::string& what) {
  const int e = nbd_get_errno();
  const char* msg = nbd_get_error();
  return error(e != 0 ? e : EIO, what + ": " + (msg != nullptr ? msg : "unknown NBD error"));
}

}  // namespace

Result<NbdDisk> NbdDisk::open(const std::string& socketPath, const std::string& exportName) {
  NbdDisk d(socketPath, exportName);
  SMARTVM_TRY(d.connect());
  return d;
}

NbdDisk::NbdDisk(NbdDisk&& o) noexcept
    : socket_(std::move(o.socket_)),
      export_(std::move(o.export_)),
      h_(std::exchange(o.h_, nullptr)),
      size_(o.size_),
      readOnly_(o.readOnly_),
      canFlush_(o.canFlush_),
      canTrim_(o.canTrim_),
      canFua_(o.canFua_) {}

NbdDisk& NbdDisk::operator=(NbdDisk&& o) noexcept {
  if (this != &o) {
    close();
    socket_ = std::move(o.socket_);
    export_ = std::move(o.export_);
    h_ = std::exchange(o.h_, nullptr);
    size_ = o.size_;
    readOnly_ = o.readOnly_;
    canFlush_ = o.canFlush_;
    canTrim_ = o.canTrim_;
    canFua_ = o.canFua_;
  }
  return *this;
}

NbdDisk::~NbdDisk() { close(); }

void NbdDisk::close() {
  if (h_ != nullptr) nbd_close(h_);
  h_ = nullptr;
}

Status NbdDisk::connect() {
  close();
  h_ = nbd_create();
  if (h_ == nullptr) return nbdError("nbd_create");
  if (nbd_set_export_name(h_, export_.c_str()) == -1) return nbdError("export name " + export_);
  if (nbd_connect_unix(h_, socket_.c_str()) == -1) return nbdError("connecting to " + socket_ + " export " + export_);
  const int64_t size = nbd_get_size(h_);
  if (size < 0) return nbdError("size of export " + export_);
  size_ = static_cast<uint64_t>(size);
  readOnly_ = nbd_is_read_only(h_) == 1;
  canFlush_ = nbd_can_flush(h_) == 1;
  canTrim_ = nbd_can_trim(h_) == 1;
  canFua_ = nbd_can_fua(h_) == 1;
  return Status::ok();
}

Status NbdDisk::reconnect() { return connect(); }

Status NbdDisk::range(uint64_t offset, uint64_t len, const char* what) const {
  if (h_ == nullptr) return error(ENOTCONN, std::string(what) + ": not connected");
  if (offset > size_ || len > size_ - offset)
    return error(EINVAL, std::string(what) + " past the end of export " + export_);
  return Status::ok();
}

Status NbdDisk::read(uint64_t offset, void* buf, size_t len) {
  SMARTVM_TRY(range(offset, len, "read"));
  if (len == 0) return Status::ok();
  if (nbd_pread(h_, buf, len, offset, 0) == -1) return nbdError("read");
  return Status::ok();
}

Status NbdDisk::write(uint64_t offset, const void* buf, size_t len, bool fua) {
  SMARTVM_TRY(range(offset, len, "write"));
  if (readOnly_) return error(EROFS, "export " + export_ + " is read-only");
  if (len == 0) return Status::ok();
  const uint32_t flags = fua && canFua_ ? LIBNBD_CMD_FLAG_FUA : 0;
  if (nbd_pwrite(h_, buf, len, offset, flags) == -1) return nbdError("write");
  if (fua && !canFua_) return flush();
  return Status::ok();
}

void NbdDisk::batch(std::span<Io> ios) {
  struct InFlight {
    Io* io;
    int64_t cookie;
  };
  std::vector<InFlight> inFlight;
  inFlight.reserve(ios.size());
  bool fuaFallback = false;
  for (Io& io : ios) {
    io.status = range(io.offset, io.len, io.write ? "write" : "read");
    if (io.status.isOk() && io.write && readOnly_) io.status = error(EROFS, "export " + export_ + " is read-only");
    if (!io.status.isOk() || io.len == 0) continue;
    const uint32_t flags = io.write && io.fua && canFua_ ? LIBNBD_CMD_FLAG_FUA : 0;
    const int64_t cookie = io.write ? nbd_aio_pwrite(h_, io.buf, io.len, io.offset, nbd_completion_callback{}, flags)
                                    : nbd_aio_pread(h_, io.buf, io.len, io.offset, nbd_completion_callback{}, 0);
    if (cookie == -1) {
      io.status = nbdError(io.write ? "write" : "read");
      continue;
    }
    inFlight.push_back({&io, cookie});
    fuaFallback = fuaFallback || (io.write && io.fua && !canFua_);
  }
  while (!inFlight.empty()) {
    for (auto it = inFlight.begin(); it != inFlight.end();) {
      const int done = nbd_aio_command_completed(h_, static_cast<uint64_t>(it->cookie));
      if (done == 0) {
        ++it;
        continue;
      }
      if (done == -1) it->io->status = nbdError(it->io->write ? "write" : "read");
      it = inFlight.erase(it);
    }
    if (inFlight.empty()) break;
    if (nbd_poll(h_, -1) == -1) {
      // The connection is gone (the daemon died): what is still in flight failed.
      const Status s = nbdError("waiting for the storage daemon");
      for (InFlight& f : inFlight) f.io->status = s;
      break;
    }
  }
  if (!fuaFallback) return;
  // The export has no FUA: one flush makes the batch's FUA writes durable.
  const Status flushed = flush();
  for (Io& io : ios)
    if (io.write && io.fua && io.status.isOk()) io.status = flushed;
}

Status NbdDisk::flush() {
  if (h_ == nullptr) return error(ENOTCONN, "flush: not connected");
  if (!canFlush_) return Status::ok();  // the export writes through: nothing is cached to flush
  if (nbd_flush(h_, 0) == -1) return nbdError("flush");
  return Status::ok();
}

Status NbdDisk::discard(uint64_t offset, uint64_t len) {
  SMARTVM_TRY(range(offset, len, "discard"));
  if (readOnly_) return error(EROFS, "export " + export_ + " is read-only");
  if (!canTrim_ || len == 0) return Status::ok();  // advisory, as in NBD and blkif
  if (nbd_trim(h_, len, offset, 0) == -1) return nbdError("discard");
  return Status::ok();
}

}  // namespace smartvm::qemu
