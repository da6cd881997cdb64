#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/Domain.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <xen/event_channel.h>
#include <xen/sched.h>

#include <chrono>
#include <random>
#include <utility>

#include "smartvm/evtchn/TwoLevelAbi.h"
#include "smartvm/hv/CallbackVia.h"
#include "smartvm/hv/DomainBoot.h"
#include "smartvm/hv/ExitDispatcher.h"
#include "smartvm/hv/RegisterDump.h"
#include "smartvm/hv/XenCpuid.h"
#include "smartvm/hv/devices/PostCodePort.h"
#include "smartvm/hv/PollWakingAbi.h"

namespace smartvm::hv {
namespace {

std::shared_ptr<spdlog::logger> makeDomainLogger(uint32_t domid, const std::string& name, const std::string& dir) {
  auto base = spdlog::default_logger();
  std::vector<spdlog::sink_ptr> sinks(base->sinks().begin(), base->sinks().end());
  if (!dir.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(dir + "/domain-" + name + ".log"));
    } catch (const spdlog::spdlog_ex& e) {
      base->warn("d{}: no domain log file: {}", domid, e.what());
    }
  }
  auto log = std::make_shared<spdlog::logger>("d" + std::to_string(domid), sinks.begin(), sinks.end());
  log->set_level(base->level());
  log->flush_on(spdlog::level::info);
  return log;
}

}  // namespace

Domain::Domain(uint32_t domid, smartvm::v1::DomainConfig config, DomainServices services)
    : domid_(domid), config_(std::move(config)), services_(std::move(services)) {
  log_ = makeDomainLogger(domid_, config_.name(), services_.logDir);
  std::random_device rd;
  for (auto& b : uuid_) b = static_cast<uint8_t>(rd());
  uuid_[6] = static_cast<uint8_t>((uuid_[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  uuid_[8] = static_cast<uint8_t>((uuid_[8] & 0x3f) | 0x80);
  createdUnixMs_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
}

Domain::~Domain() {
  console_->close();
  teardown();
}

Status Domain::boot() {
  const uint64_t bytes = config_.memory_mib() << 20;
  const uint64_t avail = hostAvailableMemory();
  if (avail != 0 && bytes > avail) {
    return error(ENOMEM, "domain '" + name() + "' asks for " + std::to_string(config_.memory_mib()) +
                             " MiB but the host has only " + std::to_string(avail >> 20) + " MiB available");
  }
  SMARTVM_ASSIGN_OR_RETURN(auto vm, services_.platform->createVm());
  {
    std::unique_lock vmLock(vmMutex_);
    vm_ = std::move(vm);
  }
  SMARTVM_ASSIGN_OR_RETURN(ram_, GuestRam::create(bytes, name()));
  SMARTVM_TRY(ram_->attach(*vm_));
  // KVM wants the memory slots in place before the irqchip (the other order costs ms).
  SMARTVM_TRY(vm_->createIrqchip());
  SMARTVM_TRY(vm_->trapMsrs({kXenHypercallMsr}));
  sharedInfo_ = std::make_unique<SharedInfoPage>(*ram_);
  {
    std::unique_lock mem(memMutex_);  // pinMemory() holders see the table with its RAM
    grantTable_ = std::make_unique<GrantTable>(*ram_, config_.max_grant_frames());
  }
  hvmParams_ = {};
  SMARTVM_TRY(ioBus_.insert(std::make_shared<PostCodePort>(), 0x80, 1));
  SMARTVM_TRY(createVcpus());
  if (evtchn::EventChannels* ec = services_.eventChannels) {
    // shared_info and vcpus_ outlive the registration: teardown removes the domain first.
    SharedInfoPage* si = sharedInfo_.get();
    auto twoLevel = std::make_unique<evtchn::TwoLevelAbi>([si] { return si->get(); },
                                                          [this](uint32_t v) { return vcpuInfo(v); });
    // Xen's evtchn_check_pollers: any port going pending may end a SCHEDOP_poll.
    SMARTVM_TRY(ec->addDomain(static_cast<uint16_t>(domid_),
                              std::make_unique<PollWakingAbi>(std::move(twoLevel), [this](uint32_t port) {
                                for (auto& v : vcpus_) v->portPending(port);
                              }),
                              config_.max_event_channels() != 0 ? config_.max_event_channels()
                                                                 : evtchn::EventChannels::kDefaultMaxPorts));
  }
  SMARTVM_TRY(setUpXenRings());
  SMARTVM_ASSIGN_OR_RETURN(PvhEntry entry, loadPvhKernel(*ram_, config_));
  log_->info("built: {} MiB, {} vCPU(s), kernel {} entry {:#x} start_info {:#x}", config_.memory_mib(),
             vcpus_.size(), config_.kernel(), entry.entry, entry.startInfo);
  return setPvhBootState(vcpus_[0]->backend(), entry);
}

Status Domain::createVcpus() {
  const uint32_t n = std::max<uint32_t>(1, config_.vcpus());
  TimerQueue* timers = services_.timers;
  if (timers == nullptr) {
    if (!ownTimers_) ownTimers_ = std::make_unique<TimerQueue>();
    timers = ownTimers_.get();
  }
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  for (uint32_t i = 0; i < n; ++i) {
    SMARTVM_ASSIGN_OR_RETURN(auto backend, vm_->createVcpu(i));
    SMARTVM_TRY(backend->setCpuid(buildXenCpuid(services_.platform->supportedCpuid(), {i, domid_})));
    vcpus.push_back(std::make_unique<Vcpu>(*this, i, std::move(backend), *timers, [this, i] { timerFired(i); }));
    if (services_.makeGate) vcpus.back()->setGate(services_.makeGate(domid_, i));
  }
  std::unique_lock vmLock(vmMutex_);
  vcpus_ = std::move(vcpus);
  return Status::ok();
}

Status Domain::start() {
  std::lock_guard ctl(controlMutex_);
  return startLocked();
}

Status Domain::startLocked() {
  if (config_.start_paused() || std::exchange(holdFirstStart_, false)) pauseCount_.store(1);
  if (pauseCount_.load() > 0) vcpus_[0]->pause();
  // A destroy may mark the domain Dying at any moment; it must win.
  DomainPhase built = DomainPhase::Built;
  if (!phase_.compare_exchange_strong(built, DomainPhase::Running)) {
    return built == DomainPhase::Dying ? error(ESRCH, "domain is being destroyed")
                                       : error(EINVAL, "domain already started");
  }
  // Secondary vCPUs stay down until the guest brings them up (VCPUOP_up).
  vcpus_[0]->start(*services_.dispatcher);
  return Status::ok();
}

Status Domain::pause() {
  std::lock_guard ctl(controlMutex_);
  if (phase_.load() == DomainPhase::Dying) return error(EINVAL, "domain is dying");
  if (pauseCount_.load() >= 255) return error(EOVERFLOW, "domain pause count at its limit");
  if (pauseCount_.fetch_add(1) == 0) {
    for (auto& v : vcpus_) v->pause();
  }
  return Status::ok();
}

Status Domain::unpause() {
  std::lock_guard ctl(controlMutex_);
  if (pauseCount_.load() == 0) return error(EINVAL, "domain '" + name() + "' is not paused");
  if (pauseCount_.fetch_sub(1) == 1) {
    for (auto& v : vcpus_) v->unpause();
  }
  return Status::ok();
}

void Domain::shutdown(unsigned reason) {
  // A guest may write its last console line to the ring, notify and die at
  // once: that line belongs in the history before anyone sees the shutdown.
  if (phase_.load() == DomainPhase::Running) flushConsoleRing();
  {
    std::lock_guard lk(stateMutex_);
    if (phase_.load() != DomainPhase::Running) return;
    // SCHEDOP_shutdown_code set earlier overrides a later plain shutdown's reason.
    const int code = shutdownCode_.load();
    shutdownReason_.store(code >= 0 && reason != SHUTDOWN_crash ? static_cast<unsigned>(code) : reason);
    phase_.store(DomainPhase::Shutdown);
  }
  log_->info("shut down: {}", shutdownReasonName(shutdownReason_.load()));
  for (auto& v : vcpus_) v->requestStop();
  if (services_.onShutdown) services_.onShutdown(domid_);
}

void Domain::crash(Vcpu* v, const std::string& why) {
  std::string dump;
  if (v != nullptr) dump = formatRegisterDump(v->backend().regs(), v->backend().sregs());
  {
    std::lock_guard lk(stateMutex_);
    if (crashDetail_.empty()) crashDetail_ = (v ? "vCPU" + std::to_string(v->id()) + ": " : "") + why;
  }
  log_->error("domain crashed: {}{}", v ? "vCPU" + std::to_string(v->id()) + ": " : "", why);
  if (!dump.empty()) log_->error("register dump:\n{}", dump);
  shutdown(SHUTDOWN_crash);
}

void Domain::takeVcpuDown(Vcpu& v) {
  // Xen's VCPUOP_down: the last vCPU going down powers the domain off instead.
  bool othersUp = false;
  for (auto& other : vcpus_) othersUp |= other.get() != &v && other->isUp();
  if (!othersUp) {
    log_->info("all vCPUs offline: powering off");
    shutdown(SHUTDOWN_poweroff);
    return;
  }
  v.takeDown();
}

void Domain::timerFired(uint32_t vcpu) {
  if (services_.eventChannels) services_.eventChannels->raiseVirq(static_cast<uint16_t>(domid_), VIRQ_TIMER, vcpu);
}

void Domain::stopAndJoin() {
  std::lock_guard ctl(controlMutex_);
  stopAndJoinLocked();
}

void Domain::stopAndJoinLocked() {
  for (auto& v : vcpus_) v->requestStop();
  for (auto& v : vcpus_) v->join();
}

void Domain::teardown() {
  std::lock_guard ctl(controlMutex_);
  teardownLocked();
}

void Domain::teardownLocked() {
  stopAndJoinLocked();
  // Timer callbacks raise upcalls, which take vmMutex_: none may run past here.
  for (auto& v : vcpus_) v->timers().stopAll();
  tearDownXenRings();  // its dom0 port first, while the guest's end still exists
  if (services_.eventChannels) services_.eventChannels->removeDomain(static_cast<uint16_t>(domid_));
  {
    std::unique_lock vmLock(vmMutex_);
    vcpus_.clear();
    vm_.reset();  // the VM goes before the RAM its slots point at
  }
  sharedInfo_.reset();
  {
    // Waits for dom0 grant operations in flight (pinMemory()); dom0's own
    // mmaps of this RAM keep the memfd's pages alive past this.
    std::unique_lock mem(memMutex_);
    grantTable_.reset();
    ram_.reset();
  }
  ioBus_ = Bus{};
  mmioBus_ = Bus{};
}

Status Domain::restart() {
  // Held throughout, so a concurrent destroy's teardown waits for a whole
  // rebuild instead of freeing RAM under it.
  std::lock_guard ctl(controlMutex_);
  teardownLocked();
  {
    std::lock_guard lk(stateMutex_);
    DomainPhase down = DomainPhase::Shutdown;
    if (!phase_.compare_exchange_strong(down, DomainPhase::Built)) {
      return error(ESRCH, "domain is being destroyed");
    }
    shutdownReason_.store(0);
    shutdownCode_.store(-1);
    crashDetail_.clear();
  }
  restarts_.fetch_add(1);
  const char banner[] = "\n[smartvm: domain restarted]\n";
  console_->append(banner, sizeof(banner) - 1);
  SMARTVM_TRY(boot());
  return startLocked();
}

bool Domain::noteRestartAllowed() {
  // xl-style guard against a guest that crashes or reboots in a tight loop.
  constexpr size_t kMaxRestarts = 10;
  constexpr uint64_t kWindowNs = 60'000'000'000ull;
  const uint64_t now = monotonicNs();
  std::lock_guard lk(stateMutex_);
  std::erase_if(restartTimesNs_, [&](uint64_t t) { return now - t > kWindowNs; });
  if (restartTimesNs_.size() >= kMaxRestarts) return false;
  restartTimesNs_.push_back(now);
  return true;
}

Status Domain::raiseUpcall(uint32_t vcpu) {
  std::shared_lock vmLock(vmMutex_);
  if (!vm_ || vcpu >= vcpus_.size()) return error(ESRCH, "no such vCPU to notify");
  Vcpu& v = *vcpus_[vcpu];
  v.wake();  // ends SCHEDOP_block even when no callback is configured
  // vCPU i has APIC id i (XenCpuid sets leaf 1 and 0xb that way).
  if (const uint8_t own = v.upcallVector()) return vm_->signalMsi(vcpu, own);
  const std::optional<uint8_t> vector = callbackVector(hvmParam(HVM_PARAM_CALLBACK_IRQ));
  if (!vector) return Status::ok();
  return v.raiseCallback(*vm_, *vector);
}

Status Domain::signalMsi(uint32_t vcpu, uint8_t vector) {
  std::shared_lock vmLock(vmMutex_);
  if (!vm_) return error(ESRCH, "domain has no VM");
  return vm_->signalMsi(vcpu, vector);
}

vcpu_info_t* Domain::vcpuInfo(uint32_t vcpu) {
  if (vcpu < vcpus_.size()) {
    if (vcpu_info_t* vi = vcpus_[vcpu]->registeredVcpuInfo()) return vi;
  }
  return sharedInfo_ ? sharedInfo_->vcpuInfo(vcpu) : nullptr;
}

uint64_t Domain::hvmParam(uint32_t index) const {
  std::lock_guard lk(stateMutex_);
  return index < hvmParams_.size() ? hvmParams_[index] : 0;
}

void Domain::setHvmParam(uint32_t index, uint64_t value) {
  std::lock_guard lk(stateMutex_);
  if (index < hvmParams_.size()) hvmParams_[index] = value;
}

std::string Domain::crashDetail() const {
  std::lock_guard lk(stateMutex_);
  return crashDetail_;
}

smartvm::v1::DomainState Domain::state() const {
  std::lock_guard ctl(controlMutex_);
  return stateLocked();
}

smartvm::v1::DomainState Domain::stateLocked() const {
  using S = smartvm::v1::DomainState;
  switch (phase_.load()) {
    case DomainPhase::Dying: return S::DOMAIN_STATE_DYING;
    case DomainPhase::Shutdown:
      return shutdownReason_.load() == SHUTDOWN_crash ? S::DOMAIN_STATE_CRASHED : S::DOMAIN_STATE_SHUTDOWN;
    case DomainPhase::Built: return S::DOMAIN_STATE_PAUSED;
    case DomainPhase::Running: break;
  }
  if (pauseCount_.load() > 0) return S::DOMAIN_STATE_PAUSED;
  bool anyUp = false;
  for (const auto& v : vcpus_) {
    if (v->runState() == VcpuRunState::Running) return S::DOMAIN_STATE_RUNNING;
    anyUp = anyUp || v->isUp();
  }
  return anyUp ? S::DOMAIN_STATE_BLOCKED : S::DOMAIN_STATE_RUNNING;
}

smartvm::v1::DomainInfo Domain::info() const {
  std::lock_guard ctl(controlMutex_);
  smartvm::v1::DomainInfo i;
  i.set_domid(domid_);
  i.set_name(config_.name());
  i.set_state(stateLocked());
  i.set_memory_mib(config_.memory_mib());
  i.set_vcpus(std::max<uint32_t>(1, config_.vcpus()));
  uint64_t cpu = 0;
  for (const auto& v : vcpus_) cpu += v->cpuTimeNs();
  i.set_cpu_time_ns(cpu);
  if (phase_.load() == DomainPhase::Shutdown) {
    i.set_shutdown_reason(static_cast<smartvm::v1::ShutdownReason>(std::min(shutdownReason_.load(), 5u) + 1));
  }
  for (const auto& [k, n] : counters_.exitCounts()) (*i.mutable_exit_counts())[k] = n;
  // The scheduler's halt blocks and checks: subsets of the "interrupted" exits.
  for (const auto& [k, n] : counters_.haltCounts()) (*i.mutable_exit_counts())[k] = n;
  for (const auto& [k, n] : counters_.hypercallCounts()) (*i.mutable_hypercall_counts())[k] = n;
  const XenRings rings = xenRings();
  i.set_store_gfn(rings.storeGfn);
  i.set_store_port(rings.storePort);
  i.set_console_gfn(rings.consoleGfn);
  i.set_console_port(rings.consolePort);
  i.set_restarts(restarts_.load());
  i.set_crash_detail(crashDetail());
  *i.mutable_config() = config_;
  i.set_created_unix_ms(createdUnixMs_);
  return i;
}

}  // namespace smartvm::hv
