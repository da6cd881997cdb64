#include "smartvm/dom0/smartvmd/ConsoleLogger.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
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

void ConsoleLogger::onCreated(const v1::DomainInfo& info) {
  if (opt_.dir.empty()) return;
  std::lock_guard lock(m_);
  created_.push_back(info);
}

void ConsoleLogger::pollOnce() {
  control::v1::Request req;
  req.mutable_list();
  auto listed = hv_.call(req);
  if (!listed.isOk()) return;  // smartvm-hv restarting: the next round catches up
  std::vector<v1::DomainInfo> created;
  {
    std::lock_guard lock(m_);
    created.swap(created_);
  }
  // Known before the list is read: one that is not in it any more is drained below.
  for (const v1::DomainInfo& d : created) track(d.domid(), d.name(), d.created_unix_ms());
  std::set<uint32_t> alive;
  for (const v1::DomainInfo& d : listed->domains().domains()) {
    // A round over many busy domains must not hold up smartvmd's shutdown.
    if (stopping()) return;
    if (d.domid() == 0) continue;  // Domain-0's messages are the daemons' own logs
    alive.insert(d.domid());
    follow(d.domid(), d.name(), d.created_unix_ms());
  }
  for (auto it = domains_.begin(); it != domains_.end();) {
    if (alive.count(it->first)) {
      ++it;
      continue;
    }
    // smartvm-hv keeps a destroyed domain's console history readable: its
    // last words (a panic, "powering off") belong in the log too.
    drain(it->first, it->second);
    it = domains_.erase(it);
  }
}

bool ConsoleLogger::stopping() {
  std::lock_guard lock(m_);
  return stop_;
}

ConsoleLogger::Followed& ConsoleLogger::track(uint32_t domid, const std::string& name, uint64_t created) {
  Followed& f = domains_[domid];
  if (!f.log || f.created != created) {
    // A domain this process has not followed yet may be one an earlier
    // smartvmd logged: go on from there.
    const uint64_t from = f.log ? 0 : loggedUpTo(name, domid, created);
    f = Followed{domid, created, from, name, std::make_unique<RotatingLog>(logPath(name), opt_.maxBytes, opt_.keep)};
  }
  return f;
}

uint64_t ConsoleLogger::loggedUpTo(const std::string& name, uint32_t domid, uint64_t created) const {
  std::ifstream in(positionPath(name));
  uint64_t c = 0, offset = 0;
  uint32_t id = 0;
  std::string rest;
  if (!(in >> id >> c >> offset) || (in >> rest)) return 0;  // none or damaged
  return id == domid && c == created ? offset : 0;          // or another domain's
}

/// Written aside and renamed into place, so a crash leaves the old position
/// or the new one, never half of one. Failing costs duplicates after a
/// restart, not bytes: a warning with the log's own.
void ConsoleLogger::savePosition(const Followed& f) const {
  const std::string path = positionPath(f.name), tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << f.domid << ' ' << f.created << ' ' << f.offset << '\n';
    if (!out.flush()) return;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

void ConsoleLogger::follow(uint32_t domid, const std::string& name, uint64_t created) {
  drain(domid, track(domid, name, created));
}

void ConsoleLogger::drain(uint32_t domid, Followed& f) {
  const std::string& name = f.name;
  const uint64_t start = f.offset;
  // Drain what is there now; a busy console is not read for ever in one round.
  for (int round = 0; round < 16; ++round) {
    control::v1::Request req;
    auto* read = req.mutable_console_read();
    read->set_domid(domid);
    read->set_offset(f.offset);
    read->set_wait_ms(0);
    auto r = hv_.call(req);
    if (!r.isOk()) break;
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
        // Retried every round (the offset stays): one warning per outage, not four a second.
        if (!f.failing) spdlog::warn("console log of domain {} ({}): {}", domid, name, s.message());
        f.failing = true;
        break;
      }
      if (f.failing) spdlog::info("console log of domain {} ({}) written again", domid, name);
      f.failing = false;
    }
    f.offset = data.next_offset();
    if (data.data().empty()) break;
  }
  if (f.offset != start) savePosition(f);  // once per round, not per read
}

}  // namespace smartvm::dom0
