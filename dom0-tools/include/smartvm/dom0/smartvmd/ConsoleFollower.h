#pragma once
// ReadConsole's loop: long-polls console_read and hands each chunk on.
#include <cstdint>
#include <functional>
#include <string>

#include "smartvm/Status.h"
#include "smartvm/dom0/smartvmd/ControlClient.h"
#include "smartvm/dom0/smartvmd/PollLoop.h"
#include "smartvm/v1/toolstack.pb.h"

namespace smartvm::dom0 {

class ConsoleFollower {
 public:
  /// Takes one console chunk; false when the caller went away.
  using ChunkSink = std::function<bool(const v1::ConsoleChunk&)>;
  /// Long-poll length of one console_read while following.
  static constexpr uint32_t kPollMs = 500;

  /// Follows the console of `domid`, named `ref` by the caller (for messages).
  ConsoleFollower(const ControlClient& hv, uint32_t domid, std::string ref)
      : hv_(hv), domid_(domid), ref_(std::move(ref)) {}

  /// Sends what is buffered from `offset`; without follow then ends (always
  /// sending at least one chunk, so the caller learns next_offset), with follow
  /// keeps going until the domain is gone (last chunk has domain_gone) or the
  /// caller cancels (ECANCELED).
  Status run(uint64_t offset, bool follow, const ChunkSink& sink, const CancelledFn& cancelled) const;

 private:
  const ControlClient& hv_;
  uint32_t domid_;
  std::string ref_;
};

}  // namespace smartvm::dom0
