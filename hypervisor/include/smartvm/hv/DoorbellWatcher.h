#pragma once
// Doorbells: eventfds a dom0 client writes to notify an event channel peer
// without a control-socket round trip. One epoll thread watches them all, and
// also the notify eventfds of dom0 ports smartvm-hv serves itself (watch()).
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "smartvm/Result.h"
#include "smartvm/UniqueFd.h"

namespace smartvm::hv {

class DoorbellWatcher {
 public:
  /// Called on the watcher thread once per wake-up of a doorbell (writes
  /// before the read coalesce, as event channel notifications do).
  using Ring = std::function<void(uint32_t port)>;

  /// A watched doorbell: its token for remove(), and a descriptor for the client.
  struct Doorbell {
    uint64_t token = 0;
    UniqueFd clientFd;
  };

  explicit DoorbellWatcher(Ring ring);
  /// Stops the thread and closes every doorbell.
  ~DoorbellWatcher();
  DoorbellWatcher(const DoorbellWatcher&) = delete;
  DoorbellWatcher& operator=(const DoorbellWatcher&) = delete;

  /// Makes and watches a doorbell for `port`. The thread starts with the first
  /// doorbell, so a hypervisor nobody rings costs no thread.
  [[nodiscard]] Result<Doorbell> add(uint32_t port);
  /// Watches `fd`, the notify eventfd of dom0 port `port` the hypervisor serves itself:
  /// each wake-up reads it, which clears the port's pending state, and calls
  /// `onWake` on the watcher thread. onWake may call add() and watch(), not remove().
  /// Returns the token for remove().
  [[nodiscard]] Result<uint64_t> watch(uint32_t port, UniqueFd fd, std::function<void()> onWake);
  /// Stops watching and closes our end. When it returns, no ring for this
  /// doorbell is in flight, so the port may be closed and reused safely.
  void remove(uint64_t token);
  /// Doorbells watched now.
  [[nodiscard]] size_t size() const;

 private:
  struct Entry {
    uint32_t port;
    UniqueFd fd;
    std::function<void()> onWake;  // set: a watched port, called instead of ring_
  };
  Result<uint64_t> addLocked(Entry e);
  Status startLocked();
  void loop();

  Ring ring_;
  // Held from a ring's lookup to its end, which is what lets remove() promise
  // no ring in flight. Taken before m_, never while waiting in epoll.
  std::mutex ringing_;
  // Guards the table; never held during a ring, so a ring may wait on a lock
  // whose holder is adding a doorbell.
  mutable std::mutex m_;
  UniqueFd epoll_;
  UniqueFd stop_;
  std::thread thread_;
  std::map<uint64_t, Entry> doorbells_;
  uint64_t nextToken_ = 1;  // 0 is the stop eventfd's key
};

}  // namespace smartvm::hv
