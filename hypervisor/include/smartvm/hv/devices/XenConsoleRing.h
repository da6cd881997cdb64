#pragma once
// The back end of a guest's console ring (xen/io/console.h): drains what the
// guest wrote to `out` and puts keyboard input into `in`, on the page the
// guest shares through HVM_PARAM_CONSOLE_PFN. The indexes are the guest's to
// write: a producer more than a ring ahead of the consumer is ignored (the
// ring is left alone until the guest fixes it, as xenconsoled does), and no
// byte outside the page is ever read or written.
#include <cstddef>
#include <cstdint>
#include <string>

#include <xen/io/console.h>

namespace smartvm::hv {

class XenConsoleRing {
 public:
  explicit XenConsoleRing(xencons_interface* page) : page_(page) {}

  /// Appends what the guest wrote to `out` and consumes it. Returns the byte
  /// count, 0 when there is none or the indexes are bogus.
  size_t drainOutput(std::string& out);
  /// Copies up to `len` input bytes into the ring as room allows; returns how many.
  size_t pushInput(const char* data, size_t len);
  /// Times the indexes were found more than a ring apart (out_prod ahead of
  /// out_cons on output, in_prod ahead of in_cons on input).
  uint64_t bogusIndexes() const { return bogus_; }

 private:
  xencons_interface* page_;
  uint64_t bogus_ = 0;
};

}  // namespace smartvm::hv
