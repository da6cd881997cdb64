#pragma once
// Shared by smartvmd's long-poll loops (console follow, shutdown wait).
#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

namespace smartvm::dom0 {

/// True when the caller went away; poll loops then end with ECANCELED.
using CancelledFn = std::function<bool()>;

/// Sleeps a little when smartvm-hv answered a long poll with no news much sooner
/// than asked, so a hypervisor that ignores wait_ms cannot make a loop spin.
inline void paceEarlyAnswer(std::chrono::steady_clock::time_point sent, std::chrono::milliseconds asked) {
  const auto elapsed = std::chrono::steady_clock::now() - sent;
  if (elapsed < asked / 4) {
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(asked / 4, std::chrono::milliseconds(100)));
  }
}

}  // namespace smartvm::dom0
