#pragma once
// One client of xenstored, whatever carries its bytes (Unix socket, guest
// ring): who it is, its partial input, and the bytes waiting to go out.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "smartvm/dom0/xenstore/XsFrameReader.h"

namespace smartvm::dom0::xenstore {

class XsConnection {
 public:
  XsConnection(uint64_t id, uint32_t domid) : id_(id), domid_(domid) {}

  uint64_t id() const { return id_; }
  /// 0 for dom0's socket clients, which are privileged.
  uint32_t domid() const { return domid_; }
  XsFrameReader& reader() { return reader_; }

  /// Queues one message; tells the transport through the output listener.
  void send(uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload);
  /// Queues an XS_ERROR reply to `req` carrying Xen's name for `code`.
  void sendError(const xsd_sockmsg& req, int code);
  bool hasOutput() const { return !out_.empty(); }
  size_t queuedBytes() const { return out_.size(); }
  /// The queued bytes, now the transport's to write.
  std::string takeOutput();
  /// Called after each send, so a ring transport can push and notify at once.
  void setOutputListener(std::function<void()> fn) { onOutput_ = std::move(fn); }

  /// True the first time only, so a stalled client costs one log line, not one per dropped event.
  bool firstDroppedEvent() { return !std::exchange(droppedEvents_, true); }

  /// No more input is handled; the transport should drop the connection once its output is written.
  void close() { closed_ = true; }
  bool closed() const { return closed_; }

 private:
  uint64_t id_;
  uint32_t domid_;
  XsFrameReader reader_;
  std::string out_;
  std::function<void()> onOutput_;
  bool closed_ = false;
  bool droppedEvents_ = false;
};

}  // namespace smartvm::dom0::xenstore
