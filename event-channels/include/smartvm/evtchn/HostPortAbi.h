#pragma once
// The port ABI of a domain that runs on the host instead of in a VM: domain 0,
// whose dom0 processes wait on Linux eventfds where a guest would read bitmaps.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>

#include "smartvm/Result.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/evtchn/PortAbi.h"
#include "smartvm/evtchn/XenEvtchnAbi.h"

namespace smartvm::evtchn {

/// Semantics (the host's stand-in for /dev/xen/evtchn):
/// - Each bound port has its own eventfd, made on first use (a notification or
///   eventFd()) and dropped when the port is freed: a port number handed out
///   again gets a new eventfd, so an old holder never sees the new binding.
/// - The eventfd counter is the pending state. A notification adds 1; nonzero
///   means pending; reading the eventfd (which zeroes it) is the client's
///   "clear pending". Notifications before the read coalesce into one wake-up,
///   as a 2-level pending bit does, the count saying how many came.
/// - No masking: isMasked() is false and unmask() does nothing. A client that
///   wants no wake-ups does not poll the eventfd; the counter keeps the news.
/// - No upcalls: setPending() never asks EventChannels to interrupt a vCPU.
/// - Closing a port (clearPending) drains its counter.
///
/// PortAbi calls come with the machine's event channel lock held; eventFd()
/// comes from dom0 request threads without it, so a mutex of its own guards
/// the fd table. Writes to an eventfd never block (EFD_NONBLOCK).
class HostPortAbi final : public PortAbi {
 public:
  /// `maxPorts` is clamped to 1..EVTCHN_2L_NR_CHANNELS (dom0 in Xen uses the
  /// 2-level ABI's 4096 too).
  explicit HostPortAbi(uint32_t maxPorts = EVTCHN_2L_NR_CHANNELS);

  [[nodiscard]] uint32_t maxPorts() const override { return maxPorts_; }
  [[nodiscard]] bool setPending(uint32_t port, uint32_t vcpu) override;
  void clearPending(uint32_t port) override;
  [[nodiscard]] bool unmask(uint32_t /*port*/, uint32_t /*vcpu*/) override { return false; }
  [[nodiscard]] bool isPending(uint32_t port) const override;
  [[nodiscard]] bool isMasked(uint32_t /*port*/) const override { return false; }
  void reset() override;
  void portFreed(uint32_t port) override;

  /// A new descriptor (the caller's to close) for `port`'s eventfd, creating
  /// the eventfd if the port has none yet; a notification that came first is
  /// already counted in it. EINVAL past maxPorts; EMFILE/ENFILE/ENOMEM when the
  /// host is out of descriptors.
  [[nodiscard]] Result<UniqueFd> eventFd(uint32_t port);

 private:
  /// The port's eventfd, made if missing; -1 if one cannot be made.
  int fdLocked(uint32_t port);

  const uint32_t maxPorts_;
  mutable std::mutex m_;
  std::map<uint32_t, UniqueFd> fds_;
  /// Pending ports that have no eventfd because one could not be made (out of
  /// descriptors): the news is kept here until eventFd() succeeds.
  std::set<uint32_t> pendingWithoutFd_;
};

}  // namespace smartvm::evtchn
