#include "smartvm/dom0/smartvmd/ConsoleFollower.h"

#include <fmt/format.h>

#include "smartvm/dom0/smartvmd/ToolstackCore.h"

namespace smartvm::dom0 {
namespace {

using Clock = std::chrono::steady_clock;

v1::ConsoleChunk goneChunk(uint64_t offset) {
  v1::ConsoleChunk chunk;
  chunk.set_next_offset(offset);
  chunk.set_domain_gone(true);
  return chunk;
}

}  // namespace

Status ConsoleFollower::run(uint64_t offset, bool follow, const ChunkSink& sink, const CancelledFn& cancelled) const {
  const Status callerGone = error(ECANCELED, fmt::format("console reader of domain '{}' went away", ref_));
  bool sentAny = false;
  for (bool first = true;; first = false) {
    if (cancelled()) return callerGone;
    control::v1::Request request;
    auto* read = request.mutable_console_read();
    read->set_domid(domid_);
    read->set_offset(offset);
    read->set_wait_ms(follow ? kPollMs : 0);
    const auto sent = Clock::now();
    auto response = hv_.call(request);
    if (!response.isOk()) {
      if (!isNoSuchDomain(response.status())) return response.status();
      // Gone between two polls: the stream ends as if smartvm-hv had said domain_gone.
      if (first) return domainNotFound(ref_);
      return sink(goneChunk(offset)) ? Status::ok() : callerGone;
    }
    const control::v1::ConsoleData& data = response->console();
    if (!data.data().empty() && data.next_offset() == offset) {
      return error(EPROTO, fmt::format("smartvm-hv sent console bytes of domain {} without moving the offset", domid_));
    }
    if (!data.data().empty() || data.domain_gone() || (!follow && !sentAny)) {
      v1::ConsoleChunk chunk;
      chunk.set_data(data.data());
      chunk.set_next_offset(data.next_offset());
      chunk.set_domain_gone(data.domain_gone());
      if (!sink(chunk)) return callerGone;
      sentAny = true;
    }
    offset = data.next_offset();
    if (data.domain_gone() || (!follow && data.data().empty())) return Status::ok();
    if (data.data().empty()) paceEarlyAnswer(sent, std::chrono::milliseconds(kPollMs));
  }
}

}  // namespace smartvm::dom0
