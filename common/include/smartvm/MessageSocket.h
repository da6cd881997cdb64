#pragma once
// Length-prefixed protobuf messages over a connected stream socket: the
// framing of the dom0 control protocol (proto/smartvm/control/v1).
#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/Status.h"

namespace smartvm {

class MessageSocket {
 public:
  /// Largest frame either side accepts; a bigger length prefix is a protocol error.
  static constexpr uint32_t kMaxFrame = 16u << 20;

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
  /// Receives one message. ENOTCONN on orderly close by the peer.
  Status recv(google::protobuf::MessageLite& msg);

 private:
  int fd_ = -1;
};

/// Creates a listening Unix stream socket at `path` (replacing a stale one) with the given mode.
Result<int> listenUnix(const std::string& path, unsigned mode);

}  // namespace smartvm
