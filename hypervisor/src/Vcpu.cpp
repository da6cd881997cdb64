#include "smartvm/hv/Vcpu.h"

#include <pthread.h>
#include <time.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/ExitDispatcher.h"

namespace smartvm::hv {

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {
uint64_t clockNs(clockid_t c) {
  timespec ts{};
  if (clock_gettime(c, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

Vcpu::Vcpu(Domain& domain, uint32_t id, std::unique_ptr<VcpuBackend> backend)
    : domain_(domain), id_(id), backend_(std::move(backend)), stateEntryNs_(monotonicNs()) {}

Vcpu::~Vcpu() {
  requestStop();
  join();
}

void Vcpu::setState(VcpuRunState s) {
  // Caller holds m_.
  const uint64_t now = monotonicNs();
  const VcpuRunState old = state_.load();
  if (old == VcpuRunState::Blocked) blockedNs_ += now - stateEntryNs_;
  if (old == VcpuRunState::Offline) offlineNs_ += now - stateEntryNs_;
  stateEntryNs_ = now;
  state_.store(s);
  cv_.notify_all();
}

void Vcpu::start(const ExitDispatcher& dispatcher) {
  std::lock_guard lk(m_);
  if (thread_.joinable() || stopRequested_) return;
  setState(VcpuRunState::Running);
  threadAlive_ = true;
  thread_ = std::thread([this, &dispatcher] { loop(dispatcher); });
}

void Vcpu::loop(const ExitDispatcher& dispatcher) {
  backend_->bindToCurrentThread();
  {
    std::lock_guard lk(m_);
    pthread_getcpuclockid(pthread_self(), &cpuClock_);
  }
  while (waitWhileParked()) {
    VcpuExit& exit = backend_->run();
    if (dispatcher.dispatch(*this, exit) == ExitAction::Stop) break;
  }
  std::lock_guard lk(m_);
  finalCpuNs_ += clockNs(cpuClock_);
  threadAlive_ = false;
  setState(VcpuRunState::Stopped);
}

bool Vcpu::waitWhileParked() {
  std::unique_lock lk(m_);
  if (pauseRequested_ && !stopRequested_) {
    setState(VcpuRunState::Parked);
    cv_.wait(lk, [this] { return !pauseRequested_ || stopRequested_; });
    setState(VcpuRunState::Running);
  }
  return !stopRequested_;
}

void Vcpu::requestStop() {
  {
    std::lock_guard lk(m_);
    stopRequested_ = true;
    if (!thread_.joinable() && state_.load() != VcpuRunState::Stopped) setState(VcpuRunState::Stopped);
  }
  cv_.notify_all();
  backend_->kick();
}

void Vcpu::join() {
  // The reaper and a destroy may both wait for the same vCPU.
  std::lock_guard lk(joinMutex_);
  if (thread_.joinable()) thread_.join();
}

void Vcpu::pause() {
  std::unique_lock lk(m_);
  pauseRequested_ = true;
  if (state_.load() != VcpuRunState::Running) return;
  backend_->kick();
  cv_.wait(lk, [this] { return state_.load() != VcpuRunState::Running; });
}

void Vcpu::unpause() {
  {
    std::lock_guard lk(m_);
    pauseRequested_ = false;
  }
  cv_.notify_all();
}

void Vcpu::block() {
  std::unique_lock lk(m_);
  if (wakePending_ || stopRequested_ || pauseRequested_) {
    wakePending_ = false;
    return;
  }
  setState(VcpuRunState::Blocked);
  cv_.wait(lk, [this] { return wakePending_ || stopRequested_ || pauseRequested_; });
  wakePending_ = false;
  setState(VcpuRunState::Running);
}

void Vcpu::wake() {
  {
    std::lock_guard lk(m_);
    wakePending_ = true;
  }
  cv_.notify_all();
}

bool Vcpu::isUp() const {
  const VcpuRunState s = state_.load();
  return s != VcpuRunState::Offline && s != VcpuRunState::Stopped;
}

uint64_t Vcpu::cpuTimeNs() const {
  std::lock_guard lk(m_);
  return finalCpuNs_ + (threadAlive_ ? clockNs(cpuClock_) : 0);
}

vcpu_runstate_info Vcpu::runstate() const {
  vcpu_runstate_info r{};
  const uint64_t cpu = cpuTimeNs();
  std::lock_guard lk(m_);
  const uint64_t now = monotonicNs();
  const VcpuRunState s = state_.load();
  r.state_entry_time = stateEntryNs_;
  r.time[RUNSTATE_running] = cpu;
  r.time[RUNSTATE_blocked] = blockedNs_ + (s == VcpuRunState::Blocked ? now - stateEntryNs_ : 0);
  r.time[RUNSTATE_offline] = offlineNs_ + (s == VcpuRunState::Offline || s == VcpuRunState::Stopped ? now - stateEntryNs_ : 0);
  switch (s) {
    case VcpuRunState::Running: r.state = RUNSTATE_running; break;
    case VcpuRunState::Blocked: r.state = RUNSTATE_blocked; break;
    case VcpuRunState::Parked: r.state = RUNSTATE_runnable; break;
    default: r.state = RUNSTATE_offline; break;
  }
  return r;
}

}  // namespace smartvm::hv
