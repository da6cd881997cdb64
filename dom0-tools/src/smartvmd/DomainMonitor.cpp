#include "smartvm/dom0/smartvmd/DomainMonitor.h"

#include <spdlog/spdlog.h>

namespace smartvm::dom0 {

DomainMonitor::Seen DomainMonitor::seenOf(const v1::DomainInfo& d) {
  return Seen{d.restarts(), d.store_gfn(), d.store_port(), d.console_gfn(), d.console_port()};
}

void DomainMonitor::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      poll();
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void DomainMonitor::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DomainMonitor::onCreated(const v1::DomainInfo& info) {
  std::lock_guard<std::mutex> lock(seenMu_);
  seen_[info.domid()] = seenOf(info);
}

void DomainMonitor::onRestarted(const v1::DomainInfo& info) { onCreated(info); }

void DomainMonitor::onDestroyed(uint32_t domid) {
  std::lock_guard<std::mutex> lock(seenMu_);
  seen_.erase(domid);
}

void DomainMonitor::poll() {
  // What was known before asking: a domain created (or destroyed) while the
  // answer is on its way is judged next time, not taken for gone (or new).
  std::map<uint32_t, Seen> before;
  {
    std::lock_guard<std::mutex> lock(seenMu_);
    before = seen_;
  }
  control::v1::Request request;
  request.mutable_list();
  auto response = hv_.call(std::move(request));
  if (!response.isOk()) {
    // smartvm-hv down or restarting: nothing can be concluded about the domains.
    spdlog::debug("domain monitor: {}", response.status().toString());
    return;
  }
  std::map<uint32_t, Seen> now;
  std::vector<const v1::DomainInfo*> restarted;
  for (const v1::DomainInfo& d : response->domains().domains()) {
    if (d.domid() == 0) continue;
    const Seen s = seenOf(d);
    now[d.domid()] = s;
    auto old = before.find(d.domid());
    // Domains not seen before were announced by their create call, or predate smartvmd: only changes count.
    if (old != before.end() && !(old->second == s)) restarted.push_back(&d);
  }
  std::vector<uint32_t> gone;
  for (const auto& [domid, s] : before) {
    if (now.count(domid) == 0) gone.push_back(domid);
  }
  {
    std::lock_guard<std::mutex> lock(seenMu_);
    for (const auto& [domid, s] : now) {
      // Keep a newer value a hook call stored meanwhile.
      auto cur = seen_.find(domid);
      auto old = before.find(domid);
      const bool changedMeanwhile = cur != seen_.end() && (old == before.end() || !(cur->second == old->second));
      if (!changedMeanwhile) seen_[domid] = s;
    }
    for (uint32_t domid : gone) seen_.erase(domid);
  }
  for (const v1::DomainInfo* d : restarted) {
    spdlog::info("domain {} (id {}) restarted in place (restart {})", d->name(), d->domid(), d->restarts());
    for (DomainHooks* h : hooks_) h->onRestarted(*d);
  }
  for (uint32_t domid : gone) {
    spdlog::info("domain {} is gone", domid);
    for (DomainHooks* h : hooks_) h->onDestroyed(domid);
  }
}

}  // namespace smartvm::dom0
