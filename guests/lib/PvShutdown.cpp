#include "lib/PvShutdown.h"

#include <xen/sched.h>

namespace pvshutdown {
namespace {

// Str::operator== lives in String.cpp, which the host unit tests cannot link
// (it defines memcpy and friends): compare by hand.
bool same(Str a, const char* b) {
  size_t i = 0;
  for (; i < a.size; ++i) {
    if (b[i] == '\0' || a.data[i] != b[i]) return false;
  }
  return b[i] == '\0';
}

}  // namespace

Request parse(Str value) {
  if (value.size == 0) return Request::None;
  if (same(value, "poweroff")) return Request::Poweroff;
  if (same(value, "halt")) return Request::Halt;
  if (same(value, "reboot")) return Request::Reboot;
  return Request::Unsupported;
}

int reason(Request r) {
  switch (r) {
    case Request::Poweroff:
    case Request::Halt: return SHUTDOWN_poweroff;
    case Request::Reboot: return SHUTDOWN_reboot;
    default: return -1;
  }
}

bool acknowledged(Request r) { return reason(r) >= 0; }

const char* name(Request r) {
  switch (r) {
    case Request::None: return "none";
    case Request::Poweroff: return "poweroff";
    case Request::Halt: return "halt";
    case Request::Reboot: return "reboot";
    default: return "unsupported";
  }
}

size_t makePrintable(char* buf, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = static_cast<unsigned char>(buf[i]);
    if (c < 0x20 || c > 0x7e) buf[i] = '?';
  }
  return len;
}

}  // namespace pvshutdown
