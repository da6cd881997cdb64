#pragma once
// Plays smartvm-blkback's xenstore side, from a thread of its own, for tests
// of the toolstack's disk calls: a vbd written Initialising is taken
// (InitWait), or refused with a hotplug-error and Closed when its image path
// contains "refuse"; a vbd set to Closing with online 0 is answered Closed.
// Writes go in transactions, as the real backend's do, so a directory the
// toolstack removes meanwhile is not brought back by a lone `state` node.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "smartvm/dom0/xenstore/XenstoreClient.h"

namespace smartvm::dom0::test {

class FakeBlkback {
 public:
  static constexpr const char* kRoot = "/local/domain/0/backend/vbd";

  explicit FakeBlkback(std::string xenstoredSocket) : socket_(std::move(xenstoredSocket)) {}
  ~FakeBlkback() { stop(); }

  Status start() {
    SMARTVM_ASSIGN_OR_RETURN(xenstore::XenstoreClient xs, xenstore::XenstoreClient::connect(socket_));
    SMARTVM_TRY(xs.watch(kRoot, "fake-blkback"));
    thread_ = std::thread([this, xs = std::move(xs)]() mutable { run(xs); });
    return Status::ok();
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  /// How often the backend took (domid, devid): each attach, and each re-attach on a restart, counts.
  int takes(uint32_t domid, uint32_t devid) const {
    std::lock_guard lock(mu_);
    auto it = takes_.find({domid, devid});
    return it == takes_.end() ? 0 : it->second;
  }

 private:
  void run(xenstore::XenstoreClient& xs) {
    while (!stop_) {
      scan(xs);
      (void)xs.waitEvent(std::chrono::milliseconds(50));
    }
  }

  void scan(xenstore::XenstoreClient& xs) {
    auto doms = xs.directory(kRoot);
    if (!doms.isOk()) return;
    for (const std::string& dom : *doms) {
      auto devs = xs.directory(std::string(kRoot) + "/" + dom);
      if (!devs.isOk()) continue;
      for (const std::string& dev : *devs) answer(xs, std::stoul(dom), std::stoul(dev));
    }
  }

  /// Moves one device along, in a transaction retried while it conflicts.
  void answer(xenstore::XenstoreClient& xs, uint32_t domid, uint32_t devid) {
    const std::string be = std::string(kRoot) + "/" + std::to_string(domid) + "/" + std::to_string(devid);
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto tx = xs.transactionStart();
      if (!tx.isOk()) return;
      const auto state = xs.read(be + "/state", *tx);
      const auto online = xs.read(be + "/online", *tx);
      const auto params = xs.read(be + "/params", *tx);
      bool took = false;
      if (state.isOk() && online.isOk() && *online == "1" && *state == "1") {
        if (params.isOk() && params->find("refuse") != std::string::npos) {
          (void)xs.write(be + "/hotplug-error",
                         "cannot open " + params->substr(params->find(':') + 1) + ": No such file or directory", *tx);
          (void)xs.write(be + "/state", "6", *tx);
        } else {
          (void)xs.write(be + "/state", "2", *tx);
          took = true;
        }
      } else if (state.isOk() && online.isOk() && *online == "0" && *state == "5") {
        (void)xs.write(be + "/state", "6", *tx);
      }
      const Status end = xs.transactionEnd(*tx, true);
      if (end.isOk() && took) {
        std::lock_guard lock(mu_);
        ++takes_[{domid, devid}];
      }
      if (end.code() != EAGAIN) return;
    }
  }

  std::string socket_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::pair<uint32_t, uint32_t>, int> takes_;
};

}  // namespace smartvm::dom0::test
