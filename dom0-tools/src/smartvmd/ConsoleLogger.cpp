#include "smartvm/dom0/smartvmd/ConsoleLogger.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

namespace smartvm::dom0 {

void ConsoleLogger::start() {
  if (opt_.dir.empty() || thread_.joinable()) return;
  {
    std::lock_guard lock(m_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(m_);
    while (!stop_) {
      lock.unlock();
      pollOnce();
      lock.lock();
      cv_.wait_for(lock, opt_.every, [this] { return stop_; });
    }
  });
}

void ConsoleLogger::stop() {
  {
    std::lock_guard lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ConsoleLogger::pollOnce() {
  control::v1::Request req;
  req.mutable_list();
  auto listed = hv_.call(req);
  if (!listed.isOk()) return;  // smartvm-hv restarting: the next round catches up
  std::set<uint32_t> alive;
  for (const v1::DomainInfo& d : listed->domains().domains()) {
    if (d.domid() == 0) continue;  // Domain-0's messages are the daemons' own logs
    alive.insert(d.domid());
    follow(d.domid(), d.name(), d.created_unix_ms());
  }
  for (auto it = domains_.begin(); it != domains_.end();) {
    it = alive.count(it->first) ? std::next(it) : domains_.erase(it);
  }
}

void ConsoleLogger::follow(uint32_t domid, const std::string& name, uint64_t created) {
  Followed& f = domains_[domid];
  if (!f.log || f.created != created) {
    f = Followed{created, 0, std::make_unique<RotatingLog>(logPath(name), opt_.maxBytes, opt_.keep)};
  }
  // Drain what is there now; a busy console is not read for ever in one round.
  for (int round = 0; round < 16; ++round) {
    control::v1::Request req;
    auto* read = req.mutable_console_read();
    read->set_domid(domid);
    read->set_offset(f.offset);
    read->set_wait_ms(0);
    auto r = hv_.call(req);
    if (!r.isOk()) return;
    const control::v1::ConsoleData& data = r->console();
    std::string bytes;
    if (data.first_offset() > f.offset && !data.data().empty()) {
      // The offset we asked for had already left the hypervisor's history.
      bytes = fmt::format("\n[smartvm: {} console bytes lost before they were logged]\n",
                          data.first_offset() - f.offset);
    }
    bytes += data.data();
    if (!bytes.empty()) {
      if (Status s = f.log->append(bytes); !s.isOk()) {
        spdlog::warn("console log of domain {} ({}): {}", domid, name, s.message());
        return;
      }
    }
    f.offset = data.next_offset();
    if (data.data().empty()) return;
  }
}

}  // namespace smartvm::dom0
