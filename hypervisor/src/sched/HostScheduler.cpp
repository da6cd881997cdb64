#include "smartvm/hv/sched/HostScheduler.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "SchedulerGate.h"
#include "SliceTimer.h"
#include "smartvm/hv/Vcpu.h"

namespace smartvm::hv {

namespace {
sched::Ns clockNow() { return static_cast<sched::Ns>(monotonicNs()); }
/// The host core the calling thread is pinned to by pinThread, or -1.
thread_local int tlsPinnedCore = -1;
}  // namespace

std::vector<unsigned> allowedHostCores() {
  std::vector<unsigned> cores;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cores;
  for (unsigned c = 0; c < CPU_SETSIZE && cores.size() < sched::kMaxPcpus; ++c) {
    if (CPU_ISSET(c, &set)) cores.push_back(c);
  }
  return cores;
}

HostScheduler::HostScheduler(std::vector<unsigned> cores, sched::Ns haltCheck)
    : cores_(std::move(cores)), haltCheck_(std::max<sched::Ns>(haltCheck, 0)) {}

Result<std::unique_ptr<HostScheduler>> HostScheduler::create(std::string_view policy, std::vector<unsigned> cores,
                                                             sched::Ns haltCheck) {
  if (cores.empty()) return error(EINVAL, "the scheduler needs at least one host core");
  std::unique_ptr<HostScheduler> h(new HostScheduler(std::move(cores), haltCheck));
  HostScheduler* self = h.get();
  sched::PcpuSet::Hooks hooks{
      [self](sched::SchedVcpu& v) { self->kick(v); },
      [self](unsigned pcpu, sched::Ns at) { self->timer_->arm(pcpu, at); },
      [self](unsigned pcpu) { self->pinThread(pcpu); },
      [] { return const_cast<sched::SchedVcpu*>(currentSchedVcpu()); },
      // No vCPU can wait before a domain is added, which is after timer_ exists.
      [self] {
        if (self->timer_) self->timer_->waiterAppeared();
      },
  };
  h->pcpus_ = std::make_unique<sched::PcpuSet>(h->pcpuCount(), std::move(hooks));
  SMARTVM_ASSIGN_OR_RETURN(h->sched_, sched::Scheduler::create(policy, h->pcpuCount(), clockNow, *h->pcpus_));
  h->pcpus_->attach(*h->sched_);
  h->timer_ = std::make_unique<SliceTimer>(*h->sched_, *h->pcpus_, h->haltCheck_,
                                           [self](sched::SchedVcpu& v) { self->haltCheck(v); });
  return h;
}

HostScheduler::~HostScheduler() {
  // Threads still waiting for a pCPU run on unscheduled from here on.
  pcpus_->stop();
  timer_.reset();
}

std::unique_ptr<VcpuGate> HostScheduler::makeGate(uint32_t domid, uint32_t vcpu) {
  sched::SchedVcpu* v = sched_->vcpu(domid, vcpu);
  if (v == nullptr) return nullptr;
  return std::make_unique<SchedulerGate>(*this, *v);
}

void HostScheduler::bind(const sched::SchedVcpu* v, Vcpu* vcpu) {
  std::lock_guard lk(vcpusMutex_);
  if (vcpu != nullptr)
    vcpus_[v] = vcpu;
  else
    vcpus_.erase(v);
}

void HostScheduler::kick(sched::SchedVcpu& v) {
  std::lock_guard lk(vcpusMutex_);
  auto it = vcpus_.find(&v);
  if (it != vcpus_.end()) it->second->backend().kick();
}

void HostScheduler::haltCheck(sched::SchedVcpu& v) {
  // Vcpu::haltCheck takes no lock a vCPU thread holds while it kicks (which takes vcpusMutex_).
  std::lock_guard lk(vcpusMutex_);
  auto it = vcpus_.find(&v);
  if (it != vcpus_.end()) (void)it->second->haltCheck();
}

uint64_t HostScheduler::haltCheckRounds() const { return timer_->haltCheckRounds(); }

void HostScheduler::pinThread(unsigned pcpu) {
  const unsigned core = coreOf(pcpu);
  if (tlsPinnedCore == static_cast<int>(core)) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0) {
    spdlog::warn("scheduler: cannot pin a vCPU thread to host core {}: {}", core, strerror(rc));
    return;
  }
  tlsPinnedCore = static_cast<int>(core);
}

}  // namespace smartvm::hv
