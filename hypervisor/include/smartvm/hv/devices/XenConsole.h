#pragma once
// A guest's PV console served inside smartvm-hv, as xenconsoled serves it in
// a Xen dom0: the ring page (XenConsoleRing), a dom0 port bound to the guest's
// console port (Dom0EventChannels::bindInternal), and the domain's console
// history that the ring's output goes to. Output is drained on the doorbell
// thread each time the guest notifies; input comes from write().
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <spdlog/logger.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string_view>

#include "smartvm/Result.h"
#include "smartvm/hv/ConsoleBuffer.h"
#include "smartvm/hv/Dom0EventChannels.h"
#include "smartvm/hv/devices/XenConsoleRing.h"

namespace smartvm::hv {

class XenConsole {
 public:
  /// Serves `page` for port `guestPort` of domain `domid` (an unbound port
  /// offered to dom0). `dom0`, `page`'s memory and `log` must outlive the
  /// returned object.
  [[nodiscard]] static Result<std::unique_ptr<XenConsole>> attach(Dom0EventChannels& dom0, uint16_t domid,
                                                                  uint32_t guestPort, xencons_interface* page,
                                                                  std::shared_ptr<ConsoleBuffer> history,
                                                                  spdlog::logger& log);
  /// Closes the dom0 port, then takes what the guest left in `out` (it may
  /// have notified and died at once); no drain runs once this returns.
  ~XenConsole();
  XenConsole(const XenConsole&) = delete;
  XenConsole& operator=(const XenConsole&) = delete;

  /// Puts as much of `data` into the ring's `in` half as fits, notifies the
  /// guest if anything went in, and returns how many bytes did.
  size_t write(std::string_view data);
  /// Drains `out` into the history and tells the guest (what a notification
  /// from the guest does).
  void drain();
  /// Drains `out` into the history without telling the guest: it is going
  /// away, and its last words must be in the history before anyone reads it.
  void flush();
  /// The dom0 end of the console event channel.
  uint32_t dom0Port() const { return dom0Port_; }
  /// Times the guest's indexes were found bogus (and ignored).
  uint64_t bogusIndexes() const;

 private:
  XenConsole(Dom0EventChannels& dom0, xencons_interface* page, std::shared_ptr<ConsoleBuffer> history,
             spdlog::logger& log)
      : dom0_(dom0), ring_(page), history_(std::move(history)), log_(log) {}
  /// Logs the first few bogus-index sightings; the guest controls how often they happen.
  void noteBogus(uint64_t before, const char* half);
  /// Moves `out` into the history; the byte count.
  size_t takeOutput();

  Dom0EventChannels& dom0_;
  mutable std::mutex m_;  // the ring: the doorbell thread drains while control threads write
  XenConsoleRing ring_;
  std::shared_ptr<ConsoleBuffer> history_;
  spdlog::logger& log_;
  std::atomic<uint64_t> bogusLogged_{0};
  uint32_t dom0Port_ = 0;
  bool bound_ = false;
};

}  // namespace smartvm::hv
