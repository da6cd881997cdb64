#pragma once
// A client of QEMU's machine protocol (QMP) over a Unix socket: one JSON
// object per line, a greeting, capability negotiation, then commands matched
// to their replies by id. Events that arrive meanwhile are kept, in order.
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/Status.h"
#include "smartvm/UniqueFd.h"

namespace smartvm::qemu {

class QmpClient {
 public:
  using Json = nlohmann::json;
  using Ms = std::chrono::milliseconds;

  /// Connects to `socketPath`, retrying until `timeout` (the daemon may still
  /// be starting), reads the greeting and leaves negotiation mode.
  [[nodiscard]] static Result<QmpClient> connect(const std::string& socketPath, Ms timeout);
  /// Wraps an already connected stream (tests use a socketpair).
  [[nodiscard]] static Result<QmpClient> handshake(UniqueFd fd, Ms timeout);

  /// Runs `command` and returns its "return" value. A QMP error reply is a
  /// failed Status carrying QEMU's class and description.
  [[nodiscard]] Result<Json> execute(const std::string& command, const Json& arguments = Json::object(),
                                     Ms timeout = Ms(5000));

  /// Events received so far ({"event": ..., "data": ...}), oldest first; taken.
  std::deque<Json> takeEvents();
  /// The greeting's version object (qemu major/minor/micro).
  const Json& version() const { return version_; }

 private:
  explicit QmpClient(UniqueFd fd) : fd_(std::move(fd)) {}
  [[nodiscard]] Result<Json> readMessage(std::chrono::steady_clock::time_point deadline);
  [[nodiscard]] Status send(const Json& message);

  UniqueFd fd_;
  std::string buffer_;
  std::deque<Json> events_;
  Json version_;
  uint64_t nextId_ = 1;
};

/// Maps a QMP error class to the errno the rest of Smart-VM speaks.
int qmpErrorCode(const std::string& errorClass);

}  // namespace smartvm::qemu
