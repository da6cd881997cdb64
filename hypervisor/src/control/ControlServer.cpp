#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/ControlServer.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xen/sched.h>

#include "smartvm/MessageSocket.h"

namespace smartvm::hv {

namespace pb = smartvm::control::v1;

ControlServer::ControlServer(Hypervisor& hv, std::string platformInfo,
                             std::shared_ptr<LogRingSink> hvLog)
    : hv_(hv), platformInfo_(std::move(platformInfo)), hvLog_(std::move(hvLog)) {}

ControlServer::~ControlServer() { stop(); }

Status ControlServer::start(const std::string& path) {
  SMARTVM_ASSIGN_OR_RETURN(listenFd_, listenUnix(path, 0600));
  path_ = path;
  acceptThread_ = std::thread([this] { acceptLoop(); });
  spdlog::info("control socket listening on {}", path);
  return Status::ok();
}

void ControlServer::stop() {
  if (stopping_.exchange(true)) return;
  if (listenFd_ >= 0) ::shutdown(listenFd_, SHUT_RDWR);
  if (acceptThread_.joinable()) acceptThread_.join();
  if (listenFd_ >= 0) {
    ::close(listenFd_);
    ::unlink(path_.c_str());
  }
  std::vector<Worker> workers;
  {
    std::lock_guard lk(m_);
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.thread.join();
}

void ControlServer::reapFinishedLocked() {
  std::erase_if(workers_, [](Worker& w) {
    if (!w.done->load()) return false;
    w.thread.join();  // done is its last act, so this returns at once
    return true;
  });
}

size_t ControlServer::trackedWorkers() {
  std::lock_guard lk(m_);
  return workers_.size();
}

void ControlServer::acceptLoop() {
  while (!stopping_.load()) {
    const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || (cred.uid != 0 && cred.uid != geteuid())) {
      spdlog::warn("control socket: refused peer uid {} pid {}", cred.uid, cred.pid);
      ::close(fd);
      continue;
    }
    std::lock_guard lk(m_);
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    reapFinishedLocked();
    connections_.insert(fd);
    auto done = std::make_unique<std::atomic<bool>>(false);
    std::atomic<bool>& flag = *done;
    workers_.push_back({std::thread([this, fd, &flag] { serve(fd, flag); }), std::move(done)});
  }
}

void ControlServer::serve(int fd, std::atomic<bool>& done) {
  {
    MessageSocket sock(fd);
    // The connection's dom0 event channel ports, closed when it ends.
    Dom0PortOwner owner(hv_.dom0EventChannels());
    for (;;) {
      pb::Request req;
      Status s = sock.recv(req);
      if (!s) {
        if (s.code() != ENOTCONN) spdlog::warn("control socket: {}", s.toString());
        break;
      }
      std::vector<UniqueFd> fds;
      const pb::Response resp = handle(req, owner, fds);
      std::vector<int> raw;
      for (const UniqueFd& f : fds) raw.push_back(f.get());
      if (!sock.send(resp, raw)) break;
    }
    std::lock_guard lk(m_);
    connections_.erase(fd);
  }  // the socket closes here, after fd left connections_
  done.store(true);
}

namespace {

pb::Response fail(const Status& s) {
  pb::Response r;
  r.set_error_code(s.code());
  r.set_error(s.message());
  return r;
}

pb::Response withDomain(Hypervisor& hv, uint32_t domid, const Status& s) {
  if (!s) return fail(s);
  pb::Response r;
  auto info = hv.domainInfo(domid);
  if (info) *r.mutable_domain() = *info;
  return r;
}

}  // namespace

pb::Response ControlServer::handle(const pb::Request& req) {
  Dom0PortOwner owner(hv_.dom0EventChannels());
  std::vector<UniqueFd> fds;
  return handle(req, owner, fds);
}

pb::Response ControlServer::handle(const pb::Request& req, Dom0PortOwner& owner, std::vector<UniqueFd>& fds) {
  pb::Response r;
  switch (req.op_case()) {
    case pb::Request::kCreate: {
      auto info = hv_.createDomain(req.create().config(), req.create().hold_paused());
      r = info ? pb::Response() : fail(info.status());
      if (info) *r.mutable_domain() = *info;
      break;
    }
    case pb::Request::kPause: r = withDomain(hv_, req.pause().domid(), hv_.pause(req.pause().domid())); break;
    case pb::Request::kUnpause: r = withDomain(hv_, req.unpause().domid(), hv_.unpause(req.unpause().domid())); break;
    case pb::Request::kDestroy: {
      Status s = hv_.destroy(req.destroy().domid());
      if (!s) r = fail(s);
      break;
    }
    case pb::Request::kShutdown: {
      const auto& sd = req.shutdown();
      const unsigned reason = sd.reason() == smartvm::v1::SHUTDOWN_REASON_REBOOT ? SHUTDOWN_reboot : SHUTDOWN_poweroff;
      r = withDomain(hv_, sd.domid(), hv_.shutdown(sd.domid(), reason, sd.force()));
      break;
    }
    case pb::Request::kGet: {
      auto info = hv_.domainInfo(req.get().domid());
      if (!info) r = fail(info.status());
      else *r.mutable_domain() = *info;
      break;
    }
    case pb::Request::kList:
      for (auto& d : hv_.listDomains()) *r.mutable_domains()->add_domains() = std::move(d);
      break;
    case pb::Request::kConsoleRead: r = consoleRead(req.console_read()); break;
    case pb::Request::kHostInfo: {
      auto* host = r.mutable_host();
      *host = hv_.hostInfo(platformInfo_);
      // xl info's nr_cpus and xen_scheduler: the pCPUs the scheduler runs vCPUs on, and its policy.
      host->set_nr_cpus(hv_.pcpuCount());
      host->set_sched_policy(hv_.schedPolicy());
      break;
    }
    case pb::Request::kHvLog: r.set_text(hypervisorLog(req.hv_log().clear())); break;
    case pb::Request::kWait: {
      Status s = hv_.waitForShutdown(req.wait().domid(), std::chrono::milliseconds(req.wait().timeout_ms()));
      r = s ? pb::Response() : fail(s);
      if (s) {
        if (auto info = hv_.domainInfo(req.wait().domid())) *r.mutable_domain() = *info;
      }
      break;
    }
    case pb::Request::kEvtchnAllocUnbound:
    case pb::Request::kEvtchnBindInterdomain:
    case pb::Request::kEvtchnBindVirq:
    case pb::Request::kEvtchnSend:
    case pb::Request::kEvtchnClose:
    case pb::Request::kEvtchnStatus:
    case pb::Request::kEvtchnList: r = eventChannelOp(req, owner, fds); break;
    case pb::Request::kDebugKeys: r = debugKeys(req.debug_keys()); break;
    case pb::Request::kSchedDomainGet:
    case pb::Request::kSchedDomainSet:
    case pb::Request::kSchedGlobalGet:
    case pb::Request::kSchedGlobalSet:
    case pb::Request::kVcpuPin:
    case pb::Request::kVcpuList: r = schedOp(req); break;
    case pb::Request::kConsoleWrite: r = consoleWrite(req.console_write()); break;
    case pb::Request::kGrantMap:
    case pb::Request::kGrantUnmap:
    case pb::Request::kGrantCopy: r = grantOp(req, owner, fds); break;
    case pb::Request::OP_NOT_SET: r = fail(error(EINVAL, "request names no operation")); break;
  }
  r.set_id(req.id());
  return r;
}

pb::Response ControlServer::consoleRead(const pb::ConsoleRead& cr) {
  auto buf = hv_.console(cr.domid());
  if (!buf) return fail(buf.status());
  const size_t max = cr.max_bytes() == 0 ? 64u << 10 : std::min<uint32_t>(cr.max_bytes(), 1u << 20);
  const auto wait = std::chrono::milliseconds(std::min<uint32_t>(cr.wait_ms(), 30000));
  ConsoleBuffer::Chunk c = (*buf)->read(cr.offset(), max, wait);
  pb::Response r;
  auto* out = r.mutable_console();
  out->set_data(std::move(c.data));
  out->set_next_offset(c.nextOffset);
  out->set_first_offset(c.firstOffset);
  out->set_domain_gone(c.closed && c.nextOffset >= (*buf)->endOffset());
  return r;
}

std::string ControlServer::hypervisorLog(bool clear) { return hvLog_ ? hvLog_->text(clear) : std::string(); }

}  // namespace smartvm::hv
