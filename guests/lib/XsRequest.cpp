#include "lib/XsRequest.h"

#include <xen/errno.h>

namespace {

struct ErrorName {
  long number;
  const char* name;
};

// xs_wire.h's xsd_errors, with Xen's numbers (the guest has no errno.h),
// plus the few the client itself returns.
constexpr ErrorName kErrors[] = {
    {XEN_EINVAL, "EINVAL"},   {XEN_EACCES, "EACCES"}, {XEN_EEXIST, "EEXIST"},       {XEN_EISDIR, "EISDIR"},
    {XEN_ENOENT, "ENOENT"},   {XEN_ENOMEM, "ENOMEM"}, {XEN_ENOSPC, "ENOSPC"},       {XEN_EIO, "EIO"},
    {XEN_ENOTEMPTY, "ENOTEMPTY"}, {XEN_ENOSYS, "ENOSYS"}, {XEN_EROFS, "EROFS"},     {XEN_EBUSY, "EBUSY"},
    {XEN_EAGAIN, "EAGAIN"},   {XEN_EISCONN, "EISCONN"}, {XEN_E2BIG, "E2BIG"},       {XEN_EPERM, "EPERM"},
    {XEN_ETIMEDOUT, "ETIMEDOUT"}, {XEN_ENODEV, "ENODEV"}, {XEN_ERANGE, "ERANGE"},   {XEN_ENOTCONN, "ENOTCONN"},
};

bool sameText(Str a, const char* b) {
  const size_t n = __builtin_strlen(b);
  return a.size == n && __builtin_memcmp(a.data, b, n) == 0;
}

}  // namespace

void XsRequest::begin(uint32_t type, uint32_t reqId, uint32_t txId) {
  hdr() = xsd_sockmsg{type, reqId, txId, 0};
  ok_ = true;
}

XsRequest& XsRequest::raw(Str s) {
  const uint32_t len = hdr().len;
  if (!ok_ || s.size > XENSTORE_PAYLOAD_MAX - len) {
    ok_ = false;
    return *this;
  }
  __builtin_memcpy(buf_ + sizeof(xsd_sockmsg) + len, s.data, s.size);
  hdr().len = len + static_cast<uint32_t>(s.size);
  return *this;
}

XsRequest& XsRequest::arg(Str s) {
  raw(s);
  return raw(Str("\0", 1));
}

long xsErrorNumber(Str payload) {
  // The payload is the name and a NUL; be lenient about the NUL.
  size_t n = 0;
  while (n < payload.size && payload.data[n] != '\0') ++n;
  const Str name(payload.data, n);
  for (const ErrorName& e : kErrors) {
    if (sameText(name, e.name)) return -e.number;
  }
  return -XEN_EINVAL;
}

const char* xsErrorName(long rc) {
  for (const ErrorName& e : kErrors) {
    if (-rc == e.number) return e.name;
  }
  return "E?";
}
