#include "FakeHv.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "smartvm/MessageSocket.h"

namespace smartvm::dom0::test {
namespace {

using Clock = std::chrono::steady_clock;
using control::v1::Request;
using control::v1::Response;

void setError(Response& out, int code, const std::string& message) {
  out.set_error_code(code);
  out.set_error(message);
}

}  // namespace

FakeHv::FakeHv(std::string socketPath) : path_(std::move(socketPath)) {
  Dom dom0;
  dom0.info.set_domid(0);
  dom0.info.set_name("Domain-0");
  dom0.info.set_state(v1::DOMAIN_STATE_RUNNING);
  dom0.info.set_memory_mib(2048);
  dom0.info.set_vcpus(2);
  dom0.info.set_cpu_time_ns(12'300'000'000);
  doms_[0] = dom0;
  host.set_hostname("fakehost");
  host.set_release("6.1.0-test");
  host.set_nr_cpus(2);
  host.set_total_memory_mib(4096);
  host.set_free_memory_mib(3000);
  host.set_xen_version("4.17");
  host.set_xen_extra(".0-smartvm");
  host.set_xen_caps("hvm-3.0-x86_64");
  host.set_hv_version("smartvm-hv 0.1.0");
  host.set_nr_domains(1);
  host.set_uptime_s(42);
  host.set_kvm_info("KVM API 12");
  host.set_sched_policy("credit");
}

FakeHv::~FakeHv() { stop(); }

Status FakeHv::start() {
  auto fd = listenUnix(path_, 0600);
  if (!fd.isOk()) return fd.status();
  listenFd_ = *fd;
  acceptThread_ = std::thread([this] { acceptLoop(); });
  return Status::ok();
}

void FakeHv::stop() {
  {
    Lock lock(mu_);
    if (stopping_ || listenFd_ < 0) return;
    stopping_ = true;
    for (int fd : connFds_) ::shutdown(fd, SHUT_RDWR);
    changed_.notify_all();
  }
  acceptThread_.join();
  for (auto& t : connThreads_) t.join();
  ::close(listenFd_);
  ::unlink(path_.c_str());
}

void FakeHv::acceptLoop() {
  for (;;) {
    pollfd pfd{listenFd_, POLLIN, 0};
    ::poll(&pfd, 1, 50);
    Lock lock(mu_);
    if (stopping_) return;
    if ((pfd.revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connFds_.insert(fd);
    connThreads_.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeHv::serve(int fd) {
  MessageSocket sock(fd);
  for (;;) {
    Request request;
    if (!sock.recv(request).isOk()) break;
    Hook hook;
    {
      Lock lock(mu_);
      hook = hook_;
    }
    Response response;
    const HookAction action = hook ? hook(request, response) : HookAction::Default;
    if (action == HookAction::Close) {
      Lock lock(mu_);
      requests_.push_back(request);
      break;
    }
    if (action == HookAction::Default) response = answer(request);
    if (!sock.send(response).isOk()) break;
  }
  Lock lock(mu_);
  connFds_.erase(fd);
}

Response FakeHv::answer(const Request& request) {
  Lock lock(mu_);
  requests_.push_back(request);
  advance();
  return answerLocked(request, lock);
}

Response FakeHv::answerLocked(const Request& req, Lock& lock) {
  Response out;
  out.set_id(req.id());
  auto withDomain = [&](uint32_t domid, const std::function<void(Dom&)>& change) {
    Dom* d = live(domid);
    if (d == nullptr) return setError(out, ESRCH, fmt::format("no domain {}", domid));
    change(*d);
    *out.mutable_domain() = d->info;
  };
  switch (req.op_case()) {
    case Request::kCreate: {
      const v1::DomainConfig& c = req.create().config();
      for (auto& [id, d] : doms_) {
        if (!d.gone && d.info.name() == c.name()) {
          setError(out, EEXIST, fmt::format("a domain named '{}' already exists", c.name()));
          return out;
        }
      }
      Dom d;
      d.info.set_domid(nextDomid_++);
      d.info.set_created_unix_ms(1'700'000'000'000 + d.info.domid());
      d.info.set_name(c.name());
      const bool paused = c.start_paused() || req.create().hold_paused();
      d.info.set_state(paused ? v1::DOMAIN_STATE_PAUSED : v1::DOMAIN_STATE_RUNNING);
      d.info.set_memory_mib(c.memory_mib());
      d.info.set_vcpus(c.vcpus());
      *d.info.mutable_config() = c;
      if (ringsOnCreate) {
        d.info.set_store_gfn(0xfe000 + d.info.domid());
        d.info.set_store_port(1);
        d.info.set_console_gfn(0xfd000 + d.info.domid());
        d.info.set_console_port(2);
      }
      *out.mutable_domain() = d.info;
      doms_[d.info.domid()] = d;
      break;
    }
    case Request::kPause:
      withDomain(req.pause().domid(), [](Dom& d) { d.info.set_state(v1::DOMAIN_STATE_PAUSED); });
      break;
    case Request::kUnpause:
      withDomain(req.unpause().domid(), [](Dom& d) { d.info.set_state(v1::DOMAIN_STATE_RUNNING); });
      break;
    case Request::kDestroy:
      if (Dom* d = live(req.destroy().domid())) {
        d->gone = true;
        changed_.notify_all();
      } else {
        setError(out, ESRCH, fmt::format("no domain {}", req.destroy().domid()));
      }
      break;
    case Request::kShutdown: shutdownDomain(req.shutdown(), out); break;
    case Request::kGet: withDomain(req.get().domid(), [](Dom&) {}); break;
    case Request::kList:
      for (auto& [id, d] : doms_) {
        if (!d.gone) *out.mutable_domains()->add_domains() = d.info;
      }
      out.mutable_domains();
      break;
    case Request::kConsoleRead: consoleRead(req.console_read(), out, lock); break;
    case Request::kHostInfo: *out.mutable_host() = host; break;
    case Request::kHvLog:
      out.set_text(log);
      if (req.hv_log().clear()) log.clear();
      break;
    case Request::kWait: waitDomain(req.wait(), out, lock); break;
    case Request::kEvtchnList: {
      const uint32_t domid = req.evtchn_list().dom();
      if (domid != 0 && live(domid) == nullptr) {
        setError(out, ESRCH, fmt::format("no domain {} (it has no event channels)", domid));
        break;
      }
      auto* ports = out.mutable_evtchn_ports();
      ports->set_dom(domid);
      if (auto it = eventChannels.find(domid); it != eventChannels.end()) {
        for (const auto& p : it->second) *ports->add_ports() = p;
      } else {
        auto* reserved = ports->add_ports();
        reserved->set_state(v1::EVENT_CHANNEL_STATE_RESERVED);
      }
      break;
    }
    case Request::kDebugKeys:
      debugKeys.push_back(req.debug_keys().keys());
      if (req.debug_keys().keys().find_first_not_of("q ") != std::string::npos) {
        setError(out, EINVAL, "unknown debug key (supported: q)");
      } else {
        out.set_text(debugKeysText);
      }
      break;
    case Request::kSchedDomainGet:
    case Request::kSchedDomainSet:
    case Request::kSchedGlobalGet:
    case Request::kSchedGlobalSet:
    case Request::kVcpuPin:
    case Request::kVcpuList: schedOp(req, out); break;
    case Request::kConsoleWrite: consoleWrite(req.console_write(), out); break;
    default: setError(out, EINVAL, "empty request");
  }
  return out;
}

FakeHv::Dom* FakeHv::live(uint32_t domid) {
  auto it = doms_.find(domid);
  return it == doms_.end() || it->second.gone ? nullptr : &it->second;
}

void FakeHv::shutdownDomain(const control::v1::ShutdownDomain& r, Response& out) {
  Dom* d = live(r.domid());
  if (d == nullptr) return setError(out, ESRCH, fmt::format("no domain {}", r.domid()));
  d->pendingReason = r.reason();
  if (shutdownDelay_ != std::chrono::milliseconds::max()) d->shutdownAt = Clock::now() + shutdownDelay_;
  *out.mutable_domain() = d->info;
  advance();
}

void FakeHv::advance() {
  const auto now = Clock::now();
  for (auto& [id, d] : doms_) {
    if (d.gone || !d.shutdownAt || *d.shutdownAt > now) continue;
    d.shutdownAt.reset();
    const bool reboot = d.pendingReason == v1::SHUTDOWN_REASON_REBOOT;
    v1::LifecycleAction action = reboot ? d.info.config().on_reboot() : d.info.config().on_poweroff();
    if (action == v1::LIFECYCLE_ACTION_DEFAULT) {
      action = reboot ? v1::LIFECYCLE_ACTION_RESTART : v1::LIFECYCLE_ACTION_DESTROY;
    }
    if (action == v1::LIFECYCLE_ACTION_DESTROY) {
      d.gone = true;
    } else if (action == v1::LIFECYCLE_ACTION_RESTART) {
      d.info.set_restarts(d.info.restarts() + 1);
      d.info.set_state(v1::DOMAIN_STATE_RUNNING);
    } else {
      d.info.set_state(v1::DOMAIN_STATE_SHUTDOWN);
      d.info.set_shutdown_reason(d.pendingReason);
    }
    changed_.notify_all();
  }
}

Clock::time_point FakeHv::nextEvent(Clock::time_point until) const {
  for (const auto& [id, d] : doms_) {
    if (!d.gone && d.shutdownAt) until = std::min(until, *d.shutdownAt);
  }
  return until;
}

void FakeHv::consoleRead(const control::v1::ConsoleRead& r, Response& out, Lock& lock) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(r.wait_ms());
  for (;;) {
    advance();
    auto it = doms_.find(r.domid());
    if (it == doms_.end()) return setError(out, ESRCH, fmt::format("no domain {}", r.domid()));
    const Dom& d = it->second;
    if (r.offset() < d.console.size() || d.gone || stopping_ || Clock::now() >= deadline) break;
    changed_.wait_until(lock, nextEvent(deadline));
  }
  const Dom& d = doms_.at(r.domid());
  const size_t from = std::min<size_t>(r.offset(), d.console.size());
  const size_t max = r.max_bytes() != 0 ? r.max_bytes() : 65536;
  auto* data = out.mutable_console();
  data->set_data(d.console.substr(from, max));
  data->set_next_offset(from + data->data().size());
  data->set_first_offset(0);
  data->set_domain_gone(d.gone && data->next_offset() >= d.console.size());
}

void FakeHv::consoleWrite(const control::v1::ConsoleWrite& r, Response& out) {
  Dom* d = live(r.domid());
  if (d == nullptr) return setError(out, ESRCH, fmt::format("no domain with id {}", r.domid()));
  if (!d->consoleRing) {
    return setError(out, ENODEV, fmt::format("domain '{}' has no console ring served by the hypervisor", d->info.name()));
  }
  // As the real ring: what fits in the free room is taken, the rest refused.
  const size_t room = d->consoleInCapacity - std::min(d->consoleInCapacity, d->consoleInUnread.size());
  const std::string taken = r.data().substr(0, room);
  d->consoleInUnread += taken;
  d->consoleInAll += taken;
  out.mutable_console_written()->set_written(static_cast<uint32_t>(taken.size()));
}

void FakeHv::setConsoleRing(uint32_t domid, bool present, size_t capacity) {
  Lock lock(mu_);
  Dom& d = doms_.at(domid);
  d.consoleRing = present;
  d.consoleInCapacity = capacity;
}

std::string FakeHv::consoleInput(uint32_t domid) const {
  Lock lock(mu_);
  return doms_.at(domid).consoleInAll;
}

std::string FakeHv::guestReadsConsole(uint32_t domid) {
  Lock lock(mu_);
  return std::exchange(doms_.at(domid).consoleInUnread, std::string());
}

void FakeHv::waitDomain(const control::v1::WaitDomain& r, Response& out, Lock& lock) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(r.timeout_ms());
  const Dom* start = live(r.domid());
  if (start == nullptr) return setError(out, ESRCH, fmt::format("no domain {}", r.domid()));
  const uint32_t restarts = start->info.restarts();
  for (;;) {
    advance();
    const Dom* d = live(r.domid());
    if (d == nullptr) return setError(out, ESRCH, fmt::format("no domain {}", r.domid()));
    const auto state = d->info.state();
    const bool done =
        state == v1::DOMAIN_STATE_SHUTDOWN || state == v1::DOMAIN_STATE_CRASHED || d->info.restarts() != restarts;
    if (done || stopping_) break;
    if (Clock::now() >= deadline) {
      if (waitTimeoutIsError_) return setError(out, ETIMEDOUT, "still running");
      break;
    }
    changed_.wait_until(lock, nextEvent(deadline));
  }
  *out.mutable_domain() = live(r.domid())->info;
}

uint32_t FakeHv::addDomain(const std::string& name, v1::LifecycleAction onPoweroff, v1::LifecycleAction onReboot) {
  Lock lock(mu_);
  Dom d;
  d.info.set_domid(nextDomid_++);
  d.info.set_name(name);
  d.info.set_state(v1::DOMAIN_STATE_RUNNING);
  d.info.set_memory_mib(128);
  d.info.set_vcpus(1);
  d.info.set_created_unix_ms(1'700'000'000'000 + d.info.domid());  // tells domains that reused a name apart
  d.info.mutable_config()->set_name(name);
  d.info.mutable_config()->set_on_poweroff(onPoweroff);
  d.info.mutable_config()->set_on_reboot(onReboot);
  doms_[d.info.domid()] = d;
  return d.info.domid();
}

void FakeHv::setRings(uint32_t domid, uint64_t storeGfn, uint32_t storePort, uint64_t consoleGfn,
                      uint32_t consolePort) {
  Lock lock(mu_);
  v1::DomainInfo& info = doms_.at(domid).info;
  info.set_store_gfn(storeGfn);
  info.set_store_port(storePort);
  info.set_console_gfn(consoleGfn);
  info.set_console_port(consolePort);
}

void FakeHv::appendConsole(uint32_t domid, const std::string& bytes) {
  Lock lock(mu_);
  doms_.at(domid).console += bytes;
  changed_.notify_all();
}

void FakeHv::removeDomain(uint32_t domid) {
  Lock lock(mu_);
  doms_.at(domid).gone = true;
  changed_.notify_all();
}

void FakeHv::setShutdownDelay(std::chrono::milliseconds delay) {
  Lock lock(mu_);
  shutdownDelay_ = delay;
}

void FakeHv::setWaitTimeoutIsError(bool on) {
  Lock lock(mu_);
  waitTimeoutIsError_ = on;
}

void FakeHv::setHook(Hook hook) {
  Lock lock(mu_);
  hook_ = std::move(hook);
}

std::optional<v1::DomainInfo> FakeHv::domain(uint32_t domid) const {
  Lock lock(mu_);
  auto it = doms_.find(domid);
  if (it == doms_.end() || it->second.gone) return std::nullopt;
  return it->second.info;
}

std::vector<Request> FakeHv::requests() const {
  Lock lock(mu_);
  return requests_;
}

size_t FakeHv::count(Request::OpCase op) const {
  Lock lock(mu_);
  return static_cast<size_t>(
      std::count_if(requests_.begin(), requests_.end(), [op](const Request& r) { return r.op_case() == op; }));
}

}  // namespace smartvm::dom0::test
