#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/Hypervisor.h"

#include "smartvm/sched/CpuList.h"

#include <spdlog/spdlog.h>
#include <xen/sched.h>
#include <xen/xen.h>

#include <algorithm>
#include <thread>
#include <regex>

#include "smartvm/hv/RegisterDump.h"
#include "smartvm/hv/grant/GrantTable.h"

namespace smartvm::hv {

using smartvm::v1::LifecycleAction;

namespace {
constexpr size_t kRetiredConsoles = 64;
}  // namespace

LifecycleAction lifecycleActionFor(const smartvm::v1::DomainConfig& c, unsigned reason) {
  auto pick = [](LifecycleAction a, LifecycleAction dflt) {
    return a == smartvm::v1::LIFECYCLE_ACTION_DEFAULT ? dflt : a;
  };
  switch (reason) {
    case SHUTDOWN_poweroff: return pick(c.on_poweroff(), smartvm::v1::LIFECYCLE_ACTION_DESTROY);
    case SHUTDOWN_reboot: return pick(c.on_reboot(), smartvm::v1::LIFECYCLE_ACTION_RESTART);
    case SHUTDOWN_crash: return pick(c.on_crash(), smartvm::v1::LIFECYCLE_ACTION_DESTROY);
    case SHUTDOWN_suspend: return smartvm::v1::LIFECYCLE_ACTION_PRESERVE;  // a toolstack would save it
    case SHUTDOWN_soft_reset: return smartvm::v1::LIFECYCLE_ACTION_RESTART;
    default: return smartvm::v1::LIFECYCLE_ACTION_DESTROY;  // libxl: unknown reason, destroy
  }
}

Hypervisor::Hypervisor(Platform& platform, HypervisorOptions opts)
    : platform_(platform),
      opts_(std::move(opts)),
      hypercalls_(HypercallTable::standard()),
      dispatcher_(hypercalls_),
      startNs_(monotonicNs()),
      eventChannels_([this](uint16_t domid, uint32_t vcpu) {
        if (auto d = find(domid)) (void)d->raiseUpcall(vcpu);
      }) {
  startScheduler();
  reaper_ = std::thread([this] { reaperLoop(); });
}

Hypervisor::~Hypervisor() {
  std::vector<uint32_t> ids;
  {
    std::lock_guard lk(m_);
    for (const auto& [id, d] : domains_) ids.push_back(id);
  }
  for (uint32_t id : ids) (void)destroy(id);
  {
    std::lock_guard lk(m_);
    stopping_ = true;
  }
  changed_.notify_all();
  reaper_.join();
}

/// Xen's limits for a domain's scheduling parameters, against this host's CPUs.
Status Hypervisor::validateScheduling(const smartvm::v1::DomainConfig& c) {
  const unsigned cpus = pcpuCount();
  if (c.cpu_weight() > 65535) {
    return error(EINVAL, "cpu_weight = " + std::to_string(c.cpu_weight()) + " is out of range (1..65535)");
  }
  if (c.cpu_cap() > 100 * cpus) {
    return error(EINVAL, "cap = " + std::to_string(c.cpu_cap()) + " exceeds 100 per pCPU (" + std::to_string(cpus) +
                             " pCPUs)");
  }
  if (!c.cpus().empty()) {
    if (auto m = sched::parseCpuList(c.cpus(), cpus); !m.isOk()) return error(EINVAL, "cpus: " + m.status().message());
  }
  return Status::ok();
}

Status Hypervisor::validate(const smartvm::v1::DomainConfig& c) {
  static const std::regex kName("[A-Za-z0-9_.-]{1,64}");
  if (!std::regex_match(c.name(), kName)) {
    return error(EINVAL, "invalid domain name '" + c.name() + "' (1-64 of A-Z a-z 0-9 _ . -)");
  }
  if (c.name() == "Domain-0") return error(EEXIST, "the name Domain-0 belongs to the control domain");
  if (c.memory_mib() == 0) return error(EINVAL, "memory must be at least 1 MiB");
  if (c.vcpus() > opts_.maxVcpus) {
    return error(EINVAL, "vcpus = " + std::to_string(c.vcpus()) + " exceeds the limit of " +
                             std::to_string(opts_.maxVcpus));
  }
  if (c.type() != smartvm::v1::DOMAIN_TYPE_PVH && c.type() != smartvm::v1::DOMAIN_TYPE_UNSPECIFIED) {
    return error(EOPNOTSUPP, "only PVH domains are supported");
  }
  if (c.max_event_channels() > evtchn::EventChannels::kDefaultMaxPorts) {
    return error(EINVAL, "max_event_channels = " + std::to_string(c.max_event_channels()) + " exceeds the 2-level ABI's " +
                             std::to_string(evtchn::EventChannels::kDefaultMaxPorts) + " ports");
  }
  if (c.max_grant_frames() > GrantTable::kMaxFramesLimit) {
    return error(EINVAL, "max_grant_frames = " + std::to_string(c.max_grant_frames()) + " exceeds the limit of " +
                             std::to_string(GrantTable::kMaxFramesLimit));
  }
  SMARTVM_TRY(validateScheduling(c));
  if (c.kernel().empty() || c.kernel()[0] != '/') return error(EINVAL, "kernel must be an absolute path");
  if (!c.ramdisk().empty() && c.ramdisk()[0] != '/') return error(EINVAL, "ramdisk must be an absolute path");
  return Status::ok();
}

uint32_t Hypervisor::allocateDomid() {
  for (uint32_t tries = 0; tries < DOMID_FIRST_RESERVED; ++tries) {
    const uint32_t id = nextDomid_;
    nextDomid_ = nextDomid_ + 1 >= DOMID_FIRST_RESERVED ? 1 : nextDomid_ + 1;
    if (!domains_.contains(id)) return id;
  }
  return 0;
}

Result<smartvm::v1::DomainInfo> Hypervisor::createDomain(smartvm::v1::DomainConfig config, bool holdPaused) {
  SMARTVM_TRY(validate(config));
  if (config.vcpus() == 0) config.set_vcpus(1);
  std::lock_guard create(createMutex_);
  uint32_t domid;
  {
    std::lock_guard lk(m_);
    for (const auto& [id, d] : domains_) {
      if (d->name() == config.name()) return error(EEXIST, "a domain named '" + config.name() + "' already exists");
    }
    domid = allocateDomid();
    if (domid == 0) return error(ENOSPC, "no free domain ids");
  }
  // Domid allocation is serialised by createMutex_: nobody else can take it meanwhile.
  SMARTVM_TRY(scheduleDomain(domid, config));
  DomainServices services{&platform_, &dispatcher_, [this](uint32_t id) { onShutdown(id); }, opts_.logDir,
                          &eventChannels_, &timers_, nullptr};
  services.dom0Events = &dom0Events_;  // smartvm-hv serves the guest's console ring
  if (hostSched_) {
    services.makeGate = [hs = hostSched_.get()](uint32_t id, uint32_t vcpu) { return hs->makeGate(id, vcpu); };
  }
  auto d = std::make_shared<Domain>(domid, std::move(config), std::move(services));
  if (Status s = d->boot(); !s) {
    spdlog::warn("create '{}' failed: {}", d->name(), s.toString());
    d->teardown();
    unscheduleDomain(domid);
    return s;
  }
  {
    std::lock_guard lk(m_);
    domains_[domid] = d;
  }
  if (holdPaused) d->holdFirstStart();
  SMARTVM_TRY(d->start());
  spdlog::info("created domain {} '{}'{}", domid, d->name(),
               d->config().start_paused() || holdPaused ? " (paused)" : "");
  if (!hostSched_ && (d->config().cpu_weight() != 0 || d->config().cpu_cap() != 0 || !d->config().cpus().empty() ||
                     d->config().concurrent_work())) {
    d->log().warn("cpu_weight, cap, cpus and sched_work are ignored: smartvm-hv runs without a scheduler (--sched none)");
  }
  changed_.notify_all();
  return d->info();
}

std::shared_ptr<Domain> Hypervisor::find(uint32_t domid) {
  std::lock_guard lk(m_);
  auto it = domains_.find(domid);
  return it == domains_.end() ? nullptr : it->second;
}

static Status noSuchDomain(uint32_t domid) {
  if (domid == 0) return error(EINVAL, "domain 0 is the control domain: that operation does not apply to it");
  return error(ESRCH, "no domain with id " + std::to_string(domid));
}

Status Hypervisor::pause(uint32_t domid) {
  auto d = find(domid);
  return d ? d->pause() : noSuchDomain(domid);
}

Status Hypervisor::unpause(uint32_t domid) {
  auto d = find(domid);
  return d ? d->unpause() : noSuchDomain(domid);
}

void Hypervisor::remove(uint32_t domid) {
  std::lock_guard lk(m_);
  auto it = domains_.find(domid);
  if (it == domains_.end()) return;
  retiredConsoles_[domid] = it->second->consoleShared();
  while (retiredConsoles_.size() > kRetiredConsoles) retiredConsoles_.erase(retiredConsoles_.begin());
  domains_.erase(it);
}

Status Hypervisor::destroy(uint32_t domid) {
  auto d = find(domid);
  if (!d) return noSuchDomain(domid);
  d->markDying();
  d->teardown();
  unscheduleDomain(domid);
  d->console().close();
  remove(domid);
  spdlog::info("destroyed domain {} '{}'", domid, d->name());
  changed_.notify_all();
  // Xen's domain_kill raises it again once the domain is gone.
  eventChannels_.raiseVirq(evtchn::EventChannels::kControlDomain, VIRQ_DOM_EXC, 0);
  return Status::ok();
}

Status Hypervisor::shutdown(uint32_t domid, unsigned reason, bool force) {
  auto d = find(domid);
  if (!d) return noSuchDomain(domid);
  if (d->phase() == DomainPhase::Shutdown) return Status::ok();
  if (!force) {
    return error(EOPNOTSUPP, "domain '" + d->name() +
                                 "' has no PV control interface (xenstore control/shutdown) to ask; "
                                 "force it (shutdown -F) or destroy it");
  }
  d->log().info("forced {} requested by the toolstack", shutdownReasonName(reason));
  d->shutdown(reason);
  return Status::ok();
}

Status Hypervisor::waitForShutdown(uint32_t domid, std::chrono::milliseconds timeout) {
  std::unique_lock lk(m_);
  const bool done = changed_.wait_for(lk, timeout, [&] {
    auto it = domains_.find(domid);
    return it == domains_.end() || it->second->phase() != DomainPhase::Running;
  });
  return done ? Status::ok() : error(ETIMEDOUT, "domain " + std::to_string(domid) + " did not shut down in time");
}

void Hypervisor::onShutdown(uint32_t domid) {
  {
    std::lock_guard lk(m_);
    shutdownQueue_.push_back(domid);
  }
  changed_.notify_all();
  // Xen's domain_shutdown: tell dom0 (xenstored, xl) a domain changed state.
  eventChannels_.raiseVirq(evtchn::EventChannels::kControlDomain, VIRQ_DOM_EXC, 0);
}

void Hypervisor::reaperLoop() {
  std::unique_lock lk(m_);
  for (;;) {
    changed_.wait(lk, [this] { return stopping_ || !shutdownQueue_.empty(); });
    if (stopping_) return;
    const uint32_t domid = shutdownQueue_.front();
    shutdownQueue_.pop_front();
    auto it = domains_.find(domid);
    if (it == domains_.end()) continue;
    auto d = it->second;
    lk.unlock();
    applyLifecycle(d);
    lk.lock();
  }
}

void Hypervisor::applyLifecycle(const std::shared_ptr<Domain>& d) {
  d->stopAndJoin();
  LifecycleAction action = lifecycleActionFor(d->config(), d->shutdownReason());
  if (action == smartvm::v1::LIFECYCLE_ACTION_RESTART && !d->noteRestartAllowed()) {
    d->log().error("restarting too often: preserving the domain instead");
    action = smartvm::v1::LIFECYCLE_ACTION_PRESERVE;
  }
  switch (action) {
    case smartvm::v1::LIFECYCLE_ACTION_RESTART:
      if (Status s = d->restart(); !s) {
        if (d->phase() == DomainPhase::Dying) break;  // destroyed while restarting
        d->log().error("restart failed: {}; destroying", s.toString());
        (void)destroy(d->domid());
      }
      break;
    case smartvm::v1::LIFECYCLE_ACTION_PRESERVE: d->log().info("preserved after shutdown"); break;
    default: (void)destroy(d->domid()); break;
  }
  changed_.notify_all();
}

Result<smartvm::v1::DomainInfo> Hypervisor::domainInfo(uint32_t domid) {
  if (domid == 0) return controlDomainInfo();
  auto d = find(domid);
  if (!d) return error(ESRCH, "no domain with id " + std::to_string(domid));
  return d->info();
}

std::string Hypervisor::debugKeyDomains() {
  std::vector<std::shared_ptr<Domain>> doms;
  {
    std::lock_guard lk(m_);
    for (const auto& [id, d] : domains_) doms.push_back(d);
  }
  std::string out;
  spdlog::info("'q' pressed -> dumping domain info (now = {} ns)", monotonicNs() - startNs_);
  for (const auto& d : doms) {
    const uint32_t n = d->config().vcpus();  // the config, not vcpus_, which a teardown may be clearing
    // Xen's dump_domains: send_guest_vcpu_virq(v, VIRQ_DEBUG) for each vCPU.
    for (uint32_t v = 0; v < n; ++v) eventChannels_.raiseVirq(static_cast<uint16_t>(d->domid()), VIRQ_DEBUG, v);
    const DomainCounters& c = d->counters();
    const std::string line = fmt::format(
        "domain {} '{}': {} vCPU(s) sent VIRQ_DEBUG; halt blocks {} ({} timed), halt checks {} ({} found it halted)",
        d->domid(), d->name(), n, c.haltBlocks.load(), c.timedHaltBlocks.load(), c.haltChecks.load(),
        c.haltCheckBlocks.load());
    spdlog::info("{}", line);
    out += line + "\n";
  }
  return out;
}

Result<std::shared_ptr<ConsoleBuffer>> Hypervisor::console(uint32_t domid) {
  std::lock_guard lk(m_);
  if (auto it = domains_.find(domid); it != domains_.end()) return it->second->consoleShared();
  if (auto it = retiredConsoles_.find(domid); it != retiredConsoles_.end()) return it->second;
  return error(ESRCH, "no domain with id " + std::to_string(domid));
}

}  // namespace smartvm::hv
