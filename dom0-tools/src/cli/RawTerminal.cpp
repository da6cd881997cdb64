#include "smartvm/dom0/cli/RawTerminal.h"

#include <unistd.h>

namespace smartvm::dom0 {

termios RawTerminal::raw(termios mode) {
  // cfmakeraw() minus its OPOST change: guests print "\n" line ends (the in-tree
  // one does), and without output processing they would staircase.
  mode.c_iflag &= static_cast<tcflag_t>(~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON));
  mode.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHONL | ICANON | ISIG | IEXTEN));
  mode.c_cflag &= static_cast<tcflag_t>(~(CSIZE | PARENB));
  mode.c_cflag |= CS8;
  mode.c_cc[VMIN] = 1;
  mode.c_cc[VTIME] = 0;
  return mode;
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (fd_ < 0 || !::isatty(fd_) || ::tcgetattr(fd_, &saved_) != 0) return;
  const termios mode = raw(saved_);
  // TCSAFLUSH: keys typed before the attach are not sent to the guest.
  active_ = ::tcsetattr(fd_, TCSAFLUSH, &mode) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace smartvm::dom0
