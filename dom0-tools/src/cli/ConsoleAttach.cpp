#include "smartvm/dom0/cli/ConsoleAttach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace smartvm::dom0 {
namespace {

/// Write end of the pipe that wakes the detach watcher; the SIGINT handler writes to it.
std::atomic<int> gWakeFd{-1};

void onSigint(int) {
  const int fd = gWakeFd.load();
  if (fd >= 0) {
    const char b = 's';
    [[maybe_unused]] const ssize_t n = ::write(fd, &b, 1);
  }
}

/// Puts a terminal in non-canonical, no-echo mode (so Ctrl-] arrives at once)
/// and restores it. ISIG stays on: Ctrl-C still raises SIGINT, which detaches.
class TerminalMode {
 public:
  explicit TerminalMode(int fd) : fd_(fd) {
    if (fd_ < 0 || !::isatty(fd_) || ::tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~TerminalMode() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  TerminalMode(const TerminalMode&) = delete;
  TerminalMode& operator=(const TerminalMode&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

/// A thread that cancels the stream when the user detaches; stop() ends it.
class DetachWatcher {
 public:
  DetachWatcher(grpc::ClientContext& ctx, int inputFd, bool onSigint) : ctx_(ctx), inputFd_(inputFd) {
    if (::pipe2(pipe_, O_CLOEXEC) != 0) return;
    if (onSigint) installSigint();
    thread_ = std::thread([this] { watch(); });
  }
  ~DetachWatcher() { stop(); }
  DetachWatcher(const DetachWatcher&) = delete;
  DetachWatcher& operator=(const DetachWatcher&) = delete;

  bool detached() const { return detached_.load(); }

  void stop() {
    if (thread_.joinable()) {
      const char b = 'q';
      [[maybe_unused]] const ssize_t n = ::write(pipe_[1], &b, 1);
      thread_.join();
    }
    if (sigintInstalled_) {
      ::sigaction(SIGINT, &oldSigint_, nullptr);
      gWakeFd.store(-1);
      sigintInstalled_ = false;
    }
    for (int& fd : pipe_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }

 private:
  void installSigint() {
    gWakeFd.store(pipe_[1]);
    struct sigaction sa {};
    sa.sa_handler = onSigint;
    sigemptyset(&sa.sa_mask);
    sigintInstalled_ = ::sigaction(SIGINT, &sa, &oldSigint_) == 0;
  }

  void watch() {
    pollfd fds[2] = {{pipe_[0], POLLIN, 0}, {inputFd_, POLLIN, 0}};
    const nfds_t n = inputFd_ >= 0 ? 2 : 1;
    for (;;) {
      if (::poll(fds, n, -1) < 0) continue;
      if (fds[0].revents != 0) {
        char b = 0;
        if (::read(pipe_[0], &b, 1) == 1 && b == 's') detach();
        return;
      }
      if (n == 2 && fds[1].revents != 0 && inputSaysDetach()) return detach();
    }
  }

  bool inputSaysDetach() {
    char buf[64];
    const ssize_t got = ::read(inputFd_, buf, sizeof buf);
    if (got <= 0) return got == 0 || errno != EINTR;
    for (ssize_t i = 0; i < got; ++i) {
      if (buf[i] == ConsoleAttach::kDetachByte) return true;
    }
    return false;
  }

  void detach() {
    detached_.store(true);
    ctx_.TryCancel();
  }

  grpc::ClientContext& ctx_;
  int inputFd_;
  int pipe_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<bool> detached_{false};
  struct sigaction oldSigint_ {};
  bool sigintInstalled_ = false;
};

}  // namespace

ConsoleAttach::End ConsoleAttach::run(const std::string& domain, grpc::Status& status) {
  v1::ReadConsoleRequest request;
  request.mutable_domain()->set_id(domain);
  request.set_follow(true);
  grpc::ClientContext ctx;
  TerminalMode terminal(options_.inputFd);
  DetachWatcher watcher(ctx, terminal.active() ? options_.inputFd : -1, options_.detachOnSigint);
  auto reader = stub_.ReadConsole(&ctx, request);
  v1::ConsoleChunk chunk;
  bool gone = false;
  while (reader->Read(&chunk)) {
    out_.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    out_.flush();
    gone = gone || chunk.domain_gone();
  }
  status = reader->Finish();
  watcher.stop();
  if (gone) return End::DomainGone;
  if (watcher.detached()) return End::Detached;
  return status.ok() ? End::DomainGone : End::Failed;
}

}  // namespace smartvm::dom0
