#pragma once
// A terminal in raw mode for `smartvm console`, as xl console puts it: every
// key (Ctrl-C, Ctrl-Z, Ctrl-D too) goes to the guest, nothing is echoed or
// line-edited here. The mode it was in comes back when the object goes.
#include <termios.h>

namespace smartvm::dom0 {

class RawTerminal {
 public:
  /// Puts `fd` in raw mode if it is a terminal; otherwise does nothing.
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  /// True when `fd` was a terminal and is now raw.
  bool active() const { return active_; }
  /// The raw version of `mode`: input unprocessed, no echo, no signals from
  /// keys; output processing kept, so a guest's "\n" still starts a new line.
  static termios raw(termios mode);

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace smartvm::dom0
