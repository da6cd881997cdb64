#include "SchedulerGate.h"

#include <spdlog/spdlog.h>

#include "smartvm/abi/sched_parallel.h"

namespace smartvm::hv {

namespace {
/// The SchedVcpu the calling thread runs (PcpuSet's selfVcpu hook).
thread_local const sched::SchedVcpu* tlsSelf = nullptr;

}  // namespace

const sched::SchedVcpu* currentSchedVcpu() { return tlsSelf; }

SchedulerGate::SchedulerGate(HostScheduler& host, sched::SchedVcpu& v)
    : host_(host), v_(v), domid_(v.domid), id_(v.id) {}

SchedulerGate::~SchedulerGate() {
  host_.bind(&v_, nullptr);
  host_.pcpus().forget(v_);
}

void SchedulerGate::attach(Vcpu& vcpu) { host_.bind(&v_, &vcpu); }

bool SchedulerGate::onOwnThread() const { return tlsSelf == &v_; }

bool SchedulerGate::enter() {
  tlsSelf = &v_;
  sched::PcpuSet& set = host_.pcpus();
  if (set.enter(v_)) return true;
  if (set.waitForPcpu(v_)) return true;
  // Shutting down: the scheduler is gone for good; run as the host pleases.
  return set.stopped();
}

void SchedulerGate::exited() { (void)host_.pcpus().checkpoint(v_); }

void SchedulerGate::releaseIfDescheduled() {
  if (onOwnThread()) (void)host_.pcpus().checkpoint(v_);
}

void SchedulerGate::runnable() { (void)host_.scheduler().wake(domid_, id_); }

void SchedulerGate::idle(VcpuIdle why) {
  sched::Scheduler& s = host_.scheduler();
  switch (why) {
    case VcpuIdle::Blocked: (void)s.block(domid_, id_); break;
    case VcpuIdle::Paused: (void)s.pause(domid_, id_); break;
    case VcpuIdle::Down: (void)s.offline(domid_, id_); break;
  }
  // Its own thread is about to sleep: the pCPU goes to someone else first.
  releaseIfDescheduled();
}

void SchedulerGate::yielded() {
  (void)host_.scheduler().yield(domid_, id_);
  releaseIfDescheduled();
}

void SchedulerGate::interrupt() { host_.pcpus().interrupt(v_); }

void SchedulerGate::stopped() {
  (void)host_.scheduler().offline(domid_, id_);
  releaseIfDescheduled();
  tlsSelf = nullptr;
}

int SchedulerGate::workHint(uint32_t op) {
  sched::WorkHint hint;
  switch (op) {
    case SMARTVM_PARALLEL_begin: hint = sched::WorkHint::ConcurrentBegin; break;
    case SMARTVM_PARALLEL_end: hint = sched::WorkHint::ConcurrentEnd; break;
    case SMARTVM_PARALLEL_layer_done: hint = sched::WorkHint::LayerDone; break;
    default: return -EINVAL;
  }
  const Status s = host_.scheduler().workHint(domid_, id_, hint);
  if (s.isOk()) {
    // A layer done may hand this vCPU's pCPU to the next part of the task.
    releaseIfDescheduled();
    return 0;
  }
  return -s.code();
}

std::optional<vcpu_runstate_info> SchedulerGate::runstate() const {
  auto r = host_.scheduler().runstate(domid_, id_);
  if (!r.isOk()) return std::nullopt;
  vcpu_runstate_info out{};
  switch (r->state) {
    case sched::VcpuState::Running: out.state = RUNSTATE_running; break;
    case sched::VcpuState::Runnable: out.state = RUNSTATE_runnable; break;
    case sched::VcpuState::Blocked: out.state = RUNSTATE_blocked; break;
    case sched::VcpuState::Paused:
    case sched::VcpuState::Offline: out.state = RUNSTATE_offline; break;
  }
  out.state_entry_time = static_cast<uint64_t>(r->stateEntry);
  out.time[RUNSTATE_running] = static_cast<uint64_t>(r->running);
  out.time[RUNSTATE_runnable] = static_cast<uint64_t>(r->runnable);
  out.time[RUNSTATE_blocked] = static_cast<uint64_t>(r->blocked);
  out.time[RUNSTATE_offline] = static_cast<uint64_t>(r->paused + r->offline);  // Xen has no paused state
  return out;
}

}  // namespace smartvm::hv
