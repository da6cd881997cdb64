#include "lib/XsInbox.h"

size_t XsInbox::want() const {
  if (bad_) return 0;
  if (have_ < sizeof(xsd_sockmsg)) return sizeof(xsd_sockmsg) - have_;
  const size_t total = sizeof(xsd_sockmsg) + header().len;
  return have_ < total ? total - have_ : 0;
}

void XsInbox::commit(size_t n) {
  if (bad_ || n > want()) {
    bad_ = true;
    return;
  }
  have_ += n;
  if (have_ == sizeof(xsd_sockmsg)) {
    const xsd_sockmsg& h = header();
    if (h.len > XENSTORE_PAYLOAD_MAX || h.type >= XS_TYPE_COUNT) bad_ = true;
  }
  // A NUL after the payload, so it can never be read past as a C string.
  if (!bad_ && have_ >= sizeof(xsd_sockmsg)) buf_[have_] = '\0';
}

bool XsInbox::complete() const { return !bad_ && have_ >= sizeof(xsd_sockmsg) && want() == 0; }

bool XsStrings::next(Str& out) {
  if (rest_.size == 0) return false;
  size_t n = 0;
  while (n < rest_.size && rest_.data[n] != '\0') ++n;
  out = Str(rest_.data, n);
  const size_t skip = n < rest_.size ? n + 1 : n;
  rest_ = Str(rest_.data + skip, rest_.size - skip);
  return true;
}

bool parseWatchEvent(Str payload, Str& path, Str& token) {
  XsStrings s(payload);
  return s.next(path) && s.next(token) && path.size != 0;
}
