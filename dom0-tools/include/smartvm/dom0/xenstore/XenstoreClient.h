#pragma once
// A blocking client of smartvm-xenstored's Unix socket for dom0 processes
// (backends, the toolstack, future xenstore-* tools). Requests are answered
// in order; watch events that arrive meanwhile are kept for waitEvent().
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/dom0/xenstore/XsMessage.h"

namespace smartvm::dom0::xenstore {

/// One WATCH_EVENT as a client sees it.
struct XsEvent {
  std::string path;
  std::string token;
};

class XenstoreClient {
 public:
  static constexpr std::chrono::seconds kReplyTimeout{10};

  /// ECONNREFUSED (with a hint) when no daemon listens at `socketPath`.
  static Result<XenstoreClient> connect(const std::string& socketPath);

  /// Every call takes the transaction id to run in, 0 for none. Failures carry
  /// the daemon's errno (ENOENT, EACCES, EAGAIN...).
  Result<std::string> read(const std::string& path, uint32_t tx = 0);
  [[nodiscard]] Status write(const std::string& path, const std::string& value, uint32_t tx = 0);
  [[nodiscard]] Status mkdir(const std::string& path, uint32_t tx = 0);
  [[nodiscard]] Status rm(const std::string& path, uint32_t tx = 0);
  Result<std::vector<std::string>> directory(const std::string& path, uint32_t tx = 0);
  Result<std::vector<std::string>> getPerms(const std::string& path, uint32_t tx = 0);
  [[nodiscard]] Status setPerms(const std::string& path, const std::vector<std::string>& perms, uint32_t tx = 0);
  [[nodiscard]] Status watch(const std::string& path, const std::string& token);
  [[nodiscard]] Status unwatch(const std::string& path, const std::string& token);
  Result<uint32_t> transactionStart();
  /// EAGAIN when the transaction conflicted: the caller retries it from the start.
  [[nodiscard]] Status transactionEnd(uint32_t tx, bool commit);
  /// INTRODUCE: xenstored attaches the guest's ring (`mfn` is its store gfn) and event channel.
  [[nodiscard]] Status introduce(uint32_t domid, uint64_t mfn, uint32_t port);
  /// RELEASE: xenstored detaches the guest; ENOENT if it was not introduced.
  [[nodiscard]] Status release(uint32_t domid);
  Result<bool> isIntroduced(uint32_t domid);
  /// The next watch event; ETIMEDOUT if none came within `timeout`.
  Result<XsEvent> waitEvent(std::chrono::milliseconds timeout);

 private:
  explicit XenstoreClient(UniqueFd fd) : fd_(std::move(fd)) {}
  /// Sends one request and returns its reply's payload (or its error).
  Result<std::string> request(uint32_t type, const std::string& payload, uint32_t tx);
  /// Reads one whole message within `timeout`.
  Result<XsMessage> receive(std::chrono::milliseconds timeout);
  [[nodiscard]] Status readExactly(char* dst, size_t n, std::chrono::steady_clock::time_point deadline);

  UniqueFd fd_;
  uint32_t nextReq_ = 1;
  std::deque<XsEvent> events_;
};

}  // namespace smartvm::dom0::xenstore
