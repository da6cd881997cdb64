#pragma once
// A persistent connection to smartvm-hv's control socket for a dom0 device
// stand-in (EventChannelClient, GrantClient): requests answered in turn, with
// descriptors passed back, thread-safe, and given up as soon as an answer is
// lost (the connection would be out of step). What smartvm-hv set up for a
// connection (ports, mappings) lives as long as it.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "smartvm/MessageSocket.h"
#include "smartvm/Result.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/control/v1/control.pb.h"

namespace smartvm::dom0 {

class HvConnection {
 public:
  /// How long smartvm-hv may take to answer a request.
  static constexpr std::chrono::seconds kAnswerTimeout{30};

  /// Connects; `what` names the client in errors ("event channel client").
  /// ECONNREFUSED (or EACCES/EPERM) naming the socket when nobody answers.
  [[nodiscard]] static Result<HvConnection> connect(const std::string& socketPath, std::string what);

  HvConnection(HvConnection&&) noexcept = default;
  HvConnection& operator=(HvConnection&&) noexcept = default;

  /// One request and its answer; the answer's descriptors go to `fds`.
  /// smartvm-hv's own refusals come back as its errno and message.
  [[nodiscard]] Result<control::v1::Response> call(control::v1::Request request, std::vector<UniqueFd>* fds = nullptr);
  void disconnect();
  [[nodiscard]] bool connected() const;
  /// The socket, for polling a hang-up (smartvm-hv never sends unsolicited data); -1 when closed.
  [[nodiscard]] int fd() const;

 private:
  HvConnection(MessageSocket sock, std::string what);

  // Pointers so the connection can move: a mutex cannot.
  std::unique_ptr<MessageSocket> sock_;
  std::unique_ptr<std::mutex> mutex_;
  std::string what_;
  uint64_t nextId_ = 1;
};

}  // namespace smartvm::dom0
