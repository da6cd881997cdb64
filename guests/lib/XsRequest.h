// Building one xenstore request (xen/io/xs_wire.h): an xsd_sockmsg header
// followed by the payload, in a buffer ready to be copied into the ring.
// Pure logic, unit tested on the host.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "lib/String.h"

class XsRequest {
 public:
  static constexpr size_t kMax = sizeof(xsd_sockmsg) + XENSTORE_PAYLOAD_MAX;

  /// Starts a request of type with an empty payload.
  void begin(uint32_t type, uint32_t reqId, uint32_t txId);

  /// Appends s and its NUL terminator (paths, tokens, most arguments).
  XsRequest& arg(Str s);
  /// Appends s without a terminator (XS_WRITE's value, which is the rest of
  /// the payload, and XS_TRANSACTION_END's "T"/"F" is an arg()).
  XsRequest& raw(Str s);

  /// False when an append did not fit in XENSTORE_PAYLOAD_MAX (the request
  /// must not be sent then).
  bool ok() const { return ok_; }

  const xsd_sockmsg& header() const { return *reinterpret_cast<const xsd_sockmsg*>(buf_); }
  /// Header plus payload: what goes into the ring.
  const char* bytes() const { return buf_; }
  size_t size() const { return sizeof(xsd_sockmsg) + header().len; }

 private:
  xsd_sockmsg& hdr() { return *reinterpret_cast<xsd_sockmsg*>(buf_); }

  alignas(8) char buf_[kMax] = {};
  bool ok_ = false;
};

/// The negative Xen errno an XS_ERROR payload names ("ENOENT" -> -XEN_ENOENT),
/// as xenbus maps xsd_errors; -XEN_EINVAL for a name it does not know, as
/// Linux's get_error() does.
long xsErrorNumber(Str payload);

/// The name of a negative Xen errno, "E?" when unknown (for messages).
const char* xsErrorName(long rc);
