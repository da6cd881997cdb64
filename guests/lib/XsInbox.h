// Receiving xenstore messages (replies and watch events) from the rsp ring:
// bytes arrive in any fragmentation, first the 16-byte xsd_sockmsg, then
// `len` payload bytes. The header is the daemon's word and is checked: a
// length above XENSTORE_PAYLOAD_MAX or an unknown type breaks the stream
// (bad()), as Linux's xenbus does, instead of overrunning the buffer.
// Pure logic, unit tested on the host.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "lib/String.h"

class XsInbox {
 public:
  /// Where the next bytes go and how many are still wanted for the current
  /// message (header first, then payload); 0 when complete() or bad().
  char* space() { return buf_ + have_; }
  size_t want() const;
  /// Records that n bytes were written to space() (n <= want()).
  void commit(size_t n);

  bool complete() const;
  bool bad() const { return bad_; }

  const xsd_sockmsg& header() const { return *reinterpret_cast<const xsd_sockmsg*>(buf_); }
  Str payload() const { return Str(buf_ + sizeof(xsd_sockmsg), header().len); }

  /// Forgets the complete message; the next one starts.
  void reset() { have_ = 0; }

 private:
  alignas(8) char buf_[sizeof(xsd_sockmsg) + XENSTORE_PAYLOAD_MAX + 1] = {};
  size_t have_ = 0;
  bool bad_ = false;
};

/// The NUL-separated strings of a payload (XS_DIRECTORY replies, watch
/// events). A last string without its NUL still counts.
class XsStrings {
 public:
  explicit XsStrings(Str payload) : rest_(payload) {}
  /// The next string; false when there is none.
  bool next(Str& out);

 private:
  Str rest_;
};

/// Splits an XS_WATCH_EVENT payload ("path\0token\0"); false when malformed.
bool parseWatchEvent(Str payload, Str& path, Str& token);
