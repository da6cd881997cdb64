#include "smartvm/hv/Vcpu.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <utility>

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

Vcpu::Vcpu(Domain& domain, uint32_t id, std::unique_ptr<VcpuBackend> backend, TimerQueue& timers,
           std::function<void()> onTimer)
    : domain_(domain),
      id_(id),
      backend_(std::move(backend)),
      // vCPU 0 is built ready to run; the others wait for VCPUOP_initialise + VCPUOP_up.
      down_(id != 0),
      initialised_(id == 0),
      timers_(timers, std::move(onTimer)),
      stateEntryNs_(monotonicNs()) {}

Vcpu::~Vcpu() {
  timers_.stopAll();
  requestStop();
  join();
}

void Vcpu::setState(VcpuRunState s) {
  // Caller holds m_.
  const uint64_t now = monotonicNs();
  const VcpuRunState old = state_.load();
  if (old == VcpuRunState::Blocked) blockedNs_ += now - stateEntryNs_;
  if (old == VcpuRunState::Offline) offlineNs_ += now - stateEntryNs_;
  if (old == VcpuRunState::Parked) runnableNs_ += now - stateEntryNs_;
  stateEntryNs_ = now;
  state_.store(s);
  cv_.notify_all();
}

void Vcpu::start(const ExitDispatcher& dispatcher) {
  std::lock_guard lk(m_);
  if (thread_.joinable() || stopRequested_) return;
  setState(VcpuRunState::Running);
  threadAlive_ = true;
  if (!down_.load() && !pauseRequested_) gate_->runnable();
  thread_ = std::thread([this, &dispatcher] { loop(dispatcher); });
}

void Vcpu::loop(const ExitDispatcher& dispatcher) {
  backend_->bindToCurrentThread();
  {
    std::lock_guard lk(m_);
    pthread_getcpuclockid(pthread_self(), &cpuClock_);
    haveCpuClock_.store(true);
  }
  if (Status s = clock_.calibrate(*backend_); !s.isOk()) {
    domain_.log().warn("vCPU{}: no guest TSC ({}); vcpu_time_info stays zero", id_, s.message());
  }
  publishTime();
  while (waitWhileParked()) {
    if (!gate_->enter()) continue;  // interrupted: re-check pause, stop and down
    serviceCallback();
    if (clock_.calibrated() && clock_.stale(monotonicNs())) publishTime();
    VcpuExit& exit = backend_->run();
    const uint64_t t0 = monotonicNs(), slept0 = sleptNs_;
    const ExitAction action = dispatcher.dispatch(*this, exit);
    domain_.counters().exitHandlingNs.fetch_add(monotonicNs() - t0 - (sleptNs_ - slept0), std::memory_order_relaxed);
    if (action == ExitAction::Stop) {
      gate_->exited();
      break;
    }
    if (exit.reason == ExitReason::Interrupted) {
      const bool checked = haltCheckKick_.exchange(false);
      if (gate_->shared() && backend_->halted()) blockHalted(checked);
    }
    gate_->exited();
  }
  timers_.stopAll();
  gate_->stopped();
  backend_->unbindThread();
  std::lock_guard lk(m_);
  finalCpuNs_ += clockNs(cpuClock_);
  threadAlive_ = false;
  setState(VcpuRunState::Stopped);
}

bool Vcpu::blockHalted(bool byHaltCheck) {
  // The guest idles in `hlt` inside KVM and would keep its pCPU: block it like
  // SCHEDOP_block until Smart-VM delivers it an event (every upcall, Xen timer
  // and event-channel IPI wakes it first), then let KVM resume the halt, which
  // the pending interrupt ends. Outside KVM_RUN nothing wakes it for its own
  // LAPIC, so the block also ends when the LAPIC timer is due.
  Result<HaltWake> w = backend_->haltWake();
  if (!w) {
    // Unknown timer: staying in KVM is slow to give the pCPU up, never a hang.
    domain_.log().warn("vCPU{}: halted, LAPIC unreadable ({}); not blocked", id_, w.status().message());
    return false;
  }
  constexpr uint64_t kIf = 1u << 9;
  // With IF clear a pending vector does not end the halt: only events we send do.
  if (w->interruptPending && (backend_->regs().rflags & kIf) != 0) return false;
  if (w->timerSpent && !spentTimerProbed_) {
    // KVM shows a one-shot timer that expired after its last look (its
    // interrupt waits for the next KVM_RUN) exactly like one delivered long
    // ago. One more run delivers the former; a later kick that finds the same
    // state then blocks, as a spent one-shot timer cannot expire again.
    spentTimerProbed_ = true;
    return false;
  }
  spentTimerProbed_ = false;  // after this block the guest may run and re-arm
  domain_.counters().haltBlocks.fetch_add(1, std::memory_order_relaxed);
  if (byHaltCheck) domain_.counters().haltCheckBlocks.fetch_add(1, std::memory_order_relaxed);
  if (!w->timerNs) {
    block();
    return true;
  }
  domain_.counters().timedHaltBlocks.fetch_add(1, std::memory_order_relaxed);
  // Bounded so that the deadline stays a valid steady_clock time point; a
  // wake before a far timer is due costs one more halted run, nothing else.
  constexpr uint64_t kMaxHaltBlockNs = 60'000'000'000ull;
  block(monotonicNs() + std::min(*w->timerNs, kMaxHaltBlockNs));
  return true;
}

bool Vcpu::haltCheck() {
  if (state_.load() != VcpuRunState::Running) return false;  // giving its pCPU up anyway
  // Without m_: the caller may hold locks a vCPU thread takes under m_ (kicks).
  // A clock read after the thread ended fails (0): then it just kicks.
  const uint64_t now = monotonicNs(), cpu = haveCpuClock_.load() ? clockNs(cpuClock_) : 0;
  const uint64_t at = std::exchange(haltCheckAt_, now), cpu0 = std::exchange(haltCheckCpuNs_, cpu);
  // A guest in `hlt` inside KVM sleeps on the host (after at most KVM's halt
  // polling); one that computes uses the CPU. Kicking the latter only costs
  // it an exit, so the test is a cheap filter and KVM_GET_MP_STATE decides.
  if (at != 0 && now > at && cpu >= cpu0 && 2 * (cpu - cpu0) > now - at) return false;
  haltCheckKick_.store(true);
  domain_.counters().haltChecks.fetch_add(1, std::memory_order_relaxed);
  backend_->kick();
  return true;
}

bool Vcpu::waitWhileParked() {
  std::unique_lock lk(m_);
  auto parked = [this] { return (pauseRequested_ || down_.load()) && !stopRequested_; };
  while (parked()) {
    const VcpuRunState s = down_.load() ? VcpuRunState::Offline : VcpuRunState::Parked;
    if (state_.load() != s) setState(s);
    cv_.wait(lk);
  }
  if (state_.load() != VcpuRunState::Running && !stopRequested_) setState(VcpuRunState::Running);
  return !stopRequested_;
}

void Vcpu::serviceCallback() {
  const uint8_t vector = callbackReinject_.exchange(0);
  if (vector == 0) return;
  if (Status s = backend_->clearInService(vector); !s.isOk()) {
    domain_.log().warn("vCPU{}: cannot clear callback vector {:#x} in service: {}", id_, vector, s.message());
  }
  if (Status s = domain_.signalMsi(id_, vector); !s.isOk()) {
    domain_.log().warn("vCPU{}: callback vector {:#x} not injected: {}", id_, vector, s.message());
  }
}

Status Vcpu::raiseCallback(VmBackend& vm, uint8_t vector) {
  if (!callbackMayBeInService_.exchange(true)) return vm.signalMsi(id_, vector);
  callbackReinject_.store(vector);
  backend_->kick();
  return Status::ok();
}

void Vcpu::publishTime() {
  if (vcpu_info_t* vi = domain_.vcpuInfo(id_)) clock_.publish(&vi->time);
}

void Vcpu::requestStop() {
  {
    std::lock_guard lk(m_);
    stopRequested_ = true;
    if (!thread_.joinable() && state_.load() != VcpuRunState::Stopped) setState(VcpuRunState::Stopped);
  }
  cv_.notify_all();
  gate_->interrupt();
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
  lk.unlock();
  gate_->idle(VcpuIdle::Paused);
  gate_->interrupt();
  lk.lock();
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
  if (!down_.load()) gate_->runnable();
}

void Vcpu::bringUp(const ExitDispatcher& dispatcher) {
  {
    std::lock_guard lk(m_);
    down_.store(false);
  }
  cv_.notify_all();
  bool started = false;
  {
    std::lock_guard lk(m_);
    started = thread_.joinable();
  }
  if (started) gate_->runnable();  // the first start() says so itself
  start(dispatcher);
}

void Vcpu::takeDown() {
  {
    std::lock_guard lk(m_);
    down_.store(true);
  }
  cv_.notify_all();
  gate_->idle(VcpuIdle::Down);
  gate_->interrupt();
  backend_->kick();  // a no-op for the calling vCPU itself until it re-enters run()
}

bool Vcpu::block(std::optional<uint64_t> deadlineNs) {
  std::unique_lock lk(m_);
  auto woken = [this] { return wakePending_ || stopRequested_ || pauseRequested_ || down_.load(); };
  if (woken()) {
    wakePending_ = false;
    pollPort_.store(kNotPolling);
    return true;
  }
  setState(VcpuRunState::Blocked);
  // The pCPU goes to someone else before this thread sleeps; a wake() in
  // between sets wakePending_, which the wait below sees.
  lk.unlock();
  gate_->idle(VcpuIdle::Blocked);
  lk.lock();
  const uint64_t sleepStart = monotonicNs();
  bool ok = true;
  if (deadlineNs) {
    // steady_clock is CLOCK_MONOTONIC on Linux, Xen system time here.
    ok = cv_.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(*deadlineNs)), woken);
  } else {
    cv_.wait(lk, woken);
  }
  sleptNs_ += monotonicNs() - sleepStart;
  wakePending_ = false;
  pollPort_.store(kNotPolling);
  setState(VcpuRunState::Running);
  // Paused, down or stopping: whoever undoes that makes it runnable. Under m_,
  // so a pause() that follows is seen by the scheduler after this wake.
  if (!pauseRequested_ && !down_.load() && !stopRequested_) gate_->runnable();
  return ok;
}

void Vcpu::wake() {
  {
    std::lock_guard lk(m_);
    wakePending_ = true;
  }
  cv_.notify_all();
}

void Vcpu::portPending(uint32_t port) {
  const int64_t p = pollPort_.load();
  if (p == kNotPolling) return;
  if (p == kAnyPort || p == static_cast<int64_t>(port)) wake();
}

uint64_t Vcpu::cpuTimeNs() const {
  std::lock_guard lk(m_);
  return finalCpuNs_ + (threadAlive_ ? clockNs(cpuClock_) : 0);
}

vcpu_runstate_info Vcpu::runstate() const {
  // Under a scheduler, it knows when the vCPU waited for a pCPU (runnable).
  if (auto r = gate_->runstate()) return *r;
  vcpu_runstate_info r{};
  const uint64_t cpu = cpuTimeNs();
  std::lock_guard lk(m_);
  const uint64_t now = monotonicNs();
  const VcpuRunState s = state_.load();
  r.state_entry_time = stateEntryNs_;
  r.time[RUNSTATE_running] = cpu;
  r.time[RUNSTATE_runnable] = runnableNs_ + (s == VcpuRunState::Parked ? now - stateEntryNs_ : 0);
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
