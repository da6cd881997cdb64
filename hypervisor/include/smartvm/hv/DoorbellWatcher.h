#pragma once
// Doorbells: eventfds a dom0 client writes to notify an event channel peer
// without a control-socket round trip. One epoll thread watches them all.
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
  /// Stops watching and closes our end. When it returns, no ring for this
  /// doorbell is in flight, so the port may be closed and reused safely.
  void remove(uint64_t token);
  /// Doorbells watched now.
  [[nodiscard]] size_t size() const;

 private:
  struct Entry {
    uint32_t port;
    UniqueFd fd;
  };
  Status startLocked();
  void loop();

  Ring ring_;
  // Guards the table and is held while ringing, which is what lets remove()
  // promise no ring in flight. Never held while waiting in epoll.
  mutable std::mutex m_;
  UniqueFd epoll_;
  UniqueFd stop_;
  std::thread thread_;
  std::map<uint64_t, Entry> doorbells_;
  uint64_t nextToken_ = 1;  // 0 is the stop eventfd's key
};

}  // namespace smartvm::hv
