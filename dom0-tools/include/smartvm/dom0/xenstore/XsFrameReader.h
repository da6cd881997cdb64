#pragma once
// Reassembles xenstore messages from a byte stream that may arrive in any
// fragmentation (socket reads, ring copies).
#include <optional>
#include <string>
#include <string_view>

#include "smartvm/dom0/xenstore/XsMessage.h"

namespace smartvm::dom0::xenstore {

class XsFrameReader {
 public:
  /// Appends received bytes. Ignored once the stream is broken.
  void feed(std::string_view bytes);
  /// The next complete message, or nullopt if more bytes are needed. A header
  /// announcing more than XENSTORE_PAYLOAD_MAX yields one message with
  /// `oversized` set and breaks the stream: the peer is out of step with us
  /// and nothing after it can be framed reliably (xenstored drops such clients).
  std::optional<XsMessage> next();
  bool broken() const { return broken_; }

 private:
  std::string buf_;
  bool broken_ = false;
};

}  // namespace smartvm::dom0::xenstore
