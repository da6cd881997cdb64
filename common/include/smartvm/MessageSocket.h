#pragma once
// Length-prefixed protobuf messages over a connected stream socket: the
// framing of the dom0 control protocol (proto/smartvm/control/v1).
#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/Status.h"
#include "smartvm/UniqueFd.h"

namespace smartvm {

class MessageSocket {
 public:
  /// Largest frame either side accepts; a bigger length prefix is a protocol error.
  static constexpr uint32_t kMaxFrame = 16u << 20;
  /// Most file descriptors one frame may carry (SCM_RIGHTS); more is a protocol error.
  static constexpr size_t kMaxFds = 16;

  MessageSocket() = default;
  explicit MessageSocket(int fd) : fd_(fd) {}
  ~MessageSocket();
  MessageSocket(MessageSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  MessageSocket& operator=(MessageSocket&& o) noexcept;
  MessageSocket(const MessageSocket&) = delete;
  MessageSocket& operator=(const MessageSocket&) = delete;

  /// Connects to a Unix stream socket at `path`.
  static Result<MessageSocket> connectUnix(const std::string& path);

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close();

  Status send(const google::protobuf::MessageLite& msg);
  /// Sends `msg` with `fds` attached to its first byte (SCM_RIGHTS); the peer
  /// gets duplicates, ours stay open. EINVAL for more than kMaxFds or a bad fd.
  Status send(const google::protobuf::MessageLite& msg, std::span<const int> fds);
  /// Receives one message. ENOTCONN on orderly close by the peer. File
  /// descriptors the peer attached are closed, never kept.
  Status recv(google::protobuf::MessageLite& msg);
  /// Receives one message and the descriptors that came with it (close-on-exec,
  /// in the order sent). More than kMaxFds is EPROTO, and none are kept.
  Status recv(google::protobuf::MessageLite& msg, std::vector<UniqueFd>& fds);

 private:
  int fd_ = -1;
};

/// Creates a listening Unix stream socket at `path` (replacing a stale one) with the given mode.
Result<int> listenUnix(const std::string& path, unsigned mode);

}  // namespace smartvm
