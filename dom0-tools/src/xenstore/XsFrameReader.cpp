#include "smartvm/dom0/xenstore/XsFrameReader.h"

#include <cstring>

namespace smartvm::dom0::xenstore {

void XsFrameReader::feed(std::string_view bytes) {
  if (!broken_) buf_.append(bytes);
}

std::optional<XsMessage> XsFrameReader::next() {
  if (broken_ || buf_.size() < sizeof(xsd_sockmsg)) return std::nullopt;
  XsMessage msg;
  std::memcpy(&msg.hdr, buf_.data(), sizeof msg.hdr);
  if (msg.hdr.len > XENSTORE_PAYLOAD_MAX) {
    broken_ = true;
    buf_.clear();
    msg.oversized = true;
    return msg;
  }
  const size_t total = sizeof msg.hdr + msg.hdr.len;
  if (buf_.size() < total) return std::nullopt;
  msg.payload.assign(buf_, sizeof msg.hdr, msg.hdr.len);
  buf_.erase(0, total);
  return msg;
}

}  // namespace smartvm::dom0::xenstore
