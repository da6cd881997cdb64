#include "smartvm/dom0/cli/ConsoleInput.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>

namespace smartvm::dom0 {
namespace {

/// What one WriteConsole carries at most: smartvmd refuses more than 4 KiB.
constexpr size_t kChunk = 4096;
constexpr std::chrono::milliseconds kFirstBackoff{5};
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

/// Write end of the wake pipe of the ConsoleInput that catches signals (one per process).
std::atomic<int> gWakeFd{-1};
struct sigaction gOldActions[std::size(kSignals)];

void onSignal(int) {
  const int saved = errno;
  const int fd = gWakeFd.load();
  if (fd >= 0) {
    const char b = 's';
    [[maybe_unused]] const ssize_t n = ::write(fd, &b, 1);
  }
  errno = saved;
}

}  // namespace

ConsoleInput::ConsoleInput(v1::Toolstack::StubInterface& stub, Options options, StopFn onStop)
    : stub_(stub), options_(std::move(options)), onStop_(std::move(onStop)) {
  if (::pipe2(pipe_, O_CLOEXEC) != 0) return;
  // Before the caller makes the terminal raw: a signal from then on detaches
  // through the normal path, which restores the terminal.
  if (options_.catchSignals) installSignals();
  inputOpen_ = options_.fd >= 0;
  thread_ = std::thread([this] { run(); });
}

void ConsoleInput::installSignals() {
  gWakeFd.store(pipe_[1]);
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &sa, &gOldActions[i]);
  signalsInstalled_ = true;
}

void ConsoleInput::restoreSignals() {
  if (!signalsInstalled_) return;
  for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &gOldActions[i], nullptr);
  gWakeFd.store(-1);
  signalsInstalled_ = false;
}

void ConsoleInput::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (inflight_ != nullptr) inflight_->TryCancel();
  }
  if (thread_.joinable()) {
    const char b = 'q';
    [[maybe_unused]] const ssize_t n = ::write(pipe_[1], &b, 1);
    thread_.join();
  }
  restoreSignals();
  for (int& fd : pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

grpc::Status ConsoleInput::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void ConsoleInput::run() {
  for (;;) {
    const Wake w = waitFor(inputOpen_, -1);
    if (w == Wake::Quit) return;
    if (w == Wake::Signal) return end(Stop::Detached);
    if (!readInput()) return;
  }
}

ConsoleInput::Wake ConsoleInput::waitFor(bool input, int timeoutMs) {
  pollfd fds[2] = {{pipe_[0], POLLIN, 0}, {options_.fd, POLLIN, 0}};
  for (;;) {
    const int n = ::poll(fds, input ? 2 : 1, timeoutMs);
    if (n < 0 && errno == EINTR) continue;  // a caught signal: its byte is in the pipe
    if (n <= 0) return Wake::None;
    if (fds[0].revents != 0) {
      char b = 0;
      return ::read(pipe_[0], &b, 1) == 1 && b == 's' ? Wake::Signal : Wake::Quit;
    }
    return Wake::None;  // the input is readable, at its end, or broken: read() tells
  }
}

bool ConsoleInput::readInput() {
  char buf[kChunk];
  ssize_t n = ::read(options_.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    // A terminal that ends has hung up: detach, as xl does. A pipe or file
    // that ends has said all it had: keep printing the guest's output.
    if (options_.terminal) {
      end(Stop::Detached);
      return false;
    }
    inputOpen_ = false;
    return true;
  }
  const std::string_view data(buf, static_cast<size_t>(n));
  // Only a terminal's Ctrl-] detaches: piped input is data, any byte of it.
  const size_t detach = options_.terminal ? data.find(kDetachByte) : std::string_view::npos;
  if (!send(data.substr(0, detach))) return false;
  if (detach == std::string_view::npos) return true;
  end(Stop::Detached);
  return false;
}

bool ConsoleInput::send(std::string_view bytes) {
  auto backoff = kFirstBackoff;
  while (!bytes.empty()) {
    uint32_t written = 0;
    const grpc::Status s = writeOnce(bytes.substr(0, kChunk), written);
    if (!s.ok()) {
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        // The domain went: the output stream ends by itself with its last words.
        inputOpen_ = false;
        return true;
      }
      {
        std::lock_guard lock(mu_);
        if (stopping_) return false;
        failure_ = s;
      }
      end(Stop::Failed);
      return false;
    }
    bytes.remove_prefix(std::min<size_t>(written, bytes.size()));
    if (bytes.empty()) return true;
    // The ring is full until the guest reads: wait a little, longer each time
    // nothing moves, so a guest that never reads costs a few calls a second.
    backoff = written > 0 ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
    const Wake w = waitFor(false, static_cast<int>(backoff.count()));
    if (w == Wake::Quit) return false;
    if (w == Wake::Signal) {
      end(Stop::Detached);
      return false;
    }
  }
  return true;
}

grpc::Status ConsoleInput::writeOnce(std::string_view bytes, uint32_t& written) {
  v1::WriteConsoleRequest req;
  req.mutable_domain()->set_id(options_.domain);
  req.set_data(bytes.data(), bytes.size());
  v1::WriteConsoleResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kWriteDeadline);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return grpc::Status::CANCELLED;
    inflight_ = &ctx;
  }
  const grpc::Status s = stub_.WriteConsole(&ctx, req, &resp);
  {
    std::lock_guard lock(mu_);
    inflight_ = nullptr;
  }
  written = resp.written();
  return s;
}

void ConsoleInput::end(Stop why) {
  if (onStop_) onStop_(why);
}

}  // namespace smartvm::dom0
