#pragma once
// The keyboard half of `smartvm console`: a thread that reads the user's input
// and sends it to the guest with WriteConsole, retrying what a full console
// ring did not take, and that notices the user detaching (Ctrl-] on a
// terminal, a hangup, or SIGINT/SIGTERM/SIGHUP when asked to catch them).
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {

class ConsoleInput {
 public:
  /// The byte that detaches, as in xl console (Ctrl-]).
  static constexpr char kDetachByte = 0x1d;
  /// Longest wait between retries while the guest's ring is full.
  static constexpr std::chrono::milliseconds kMaxBackoff{200};
  /// Deadline of one WriteConsole.
  static constexpr std::chrono::seconds kWriteDeadline{10};

  /// Why input ended the attach: called once, from the input thread.
  enum class Stop { Detached, Failed };
  using StopFn = std::function<void(Stop)>;

  struct Options {
    std::string domain;         ///< the domain's name or domid, as the user gave it
    int fd = -1;                ///< the input; -1 for none
    bool terminal = false;      ///< fd is a terminal (in raw mode): Ctrl-] and EOF detach
    bool catchSignals = false;  ///< SIGINT, SIGTERM, SIGHUP detach (restoring the terminal on the way out)
  };

  /// Starts the thread. Input from a terminal is scanned for Ctrl-]; other
  /// input (a pipe, a file) is sent as it is until its end, and the attach goes
  /// on printing output.
  ConsoleInput(v1::Toolstack::StubInterface& stub, Options options, StopFn onStop);
  ~ConsoleInput() { stop(); }
  ConsoleInput(const ConsoleInput&) = delete;
  ConsoleInput& operator=(const ConsoleInput&) = delete;

  /// Ends the thread (dropping input not yet sent) and the signal handlers.
  void stop();
  /// Why sending failed, after Stop::Failed.
  grpc::Status failure() const;

 private:
  enum class Wake { None, Quit, Signal };
  void run();
  /// Waits up to `timeout` (-1: for ever) for the wake pipe or, with `input`, the input.
  Wake waitFor(bool input, int timeoutMs);
  /// Handles what the input holds; false when the thread should end.
  bool readInput();
  /// Sends all of `bytes`, retrying while the ring is full; false when the thread should end.
  bool send(std::string_view bytes);
  /// One WriteConsole, cancellable by stop().
  grpc::Status writeOnce(std::string_view bytes, uint32_t& written);
  void end(Stop why);
  void installSignals();
  void restoreSignals();

  v1::Toolstack::StubInterface& stub_;
  Options options_;
  StopFn onStop_;
  int pipe_[2] = {-1, -1};
  bool inputOpen_ = true;
  std::thread thread_;
  mutable std::mutex mu_;
  grpc::ClientContext* inflight_ = nullptr;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  grpc::Status failure_;                     // guarded by mu_
  bool signalsInstalled_ = false;
};

}  // namespace smartvm::dom0
