#pragma once
// smartvmd's side of the dom0 control protocol: one Request, one Response,
// on a fresh connection to smartvm-hv's control socket.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "smartvm/MessageSocket.h"
#include "smartvm/Result.h"
#include "smartvm/control/v1/control.pb.h"

namespace smartvm::dom0 {

/// A connection per call, not a pool: console_read and wait are long polls that
/// would pin pooled connections, a Unix connect costs microseconds, calls share
/// no state (no mutex, no head-of-line blocking), and a restarted smartvm-hv
/// leaves no stale connection behind.
class ControlClient {
 public:
  /// How long smartvm-hv may take to answer beyond the wait the request itself asks for.
  static constexpr std::chrono::seconds kAnswerSlack{30};

  explicit ControlClient(std::string socketPath) : path_(std::move(socketPath)) {}

  /// Sends `request` (its id is assigned here) and returns the matching Response.
  /// A Response with error_code != 0 comes back as that failed Status; an
  /// unreachable smartvm-hv as ECONNREFUSED "cannot reach smartvm-hv at ...".
  Result<control::v1::Response> call(control::v1::Request request) const;

  const std::string& socketPath() const { return path_; }

 private:
  Result<MessageSocket> connect(std::chrono::milliseconds answerTimeout) const;

  std::string path_;
  mutable std::atomic<uint64_t> nextId_{1};
};

/// The name of a request's operation ("create", "console_read"), for messages.
std::string controlOpName(const control::v1::Request& request);

}  // namespace smartvm::dom0
