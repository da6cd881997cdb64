// Credit: burning it as vCPUs run, handing it out once per time slice
// (csched_acct), and the per-pCPU tick (csched_tick).
#include <algorithm>
#include <iterator>

#include "CreditPolicyImpl.h"

namespace smartvm::sched::credit {

/// Burns 10 credits per ms run since the last burn, to the nanosecond: the
/// fraction of a credit left over is carried in `residual`, so many short runs
/// cost exactly what one long run of the same total does (burn_credits).
void CreditPolicy::burnCredits(CreditVcpu& c, Ns now) {
  const Ns delta = now - c.startTime;
  if (delta <= 0) return;
  const Ns val = delta * kCreditsPerMs + c.residual;
  c.credit -= val / kNsPerMs;
  c.residual = val % kNsPerMs;
  c.startTime = now;
}

void CreditPolicy::tick(unsigned pcpu, Ns now) {
  if (pcpu >= ncpus_) return;
  // Xen runs accounting from its own timer on a master pCPU; here pCPU 0's
  // tick does, once per time slice. Half a tick of slack: a tick period of
  // whole microseconds (3333 us for a 10 ms slice) must not push accounting
  // to the fourth tick.
  if (pcpu == 0 && now + tickPeriod_ / 2 >= nextAcct_) {
    account();
    nextAcct_ += tslice_;
    if (nextAcct_ <= now) nextAcct_ = now + tslice_;  // ticks stopped for a while: no catch-up burst
  }
  if (CreditVcpu* c = curr_[pcpu]) vcpuAcct(*c, pcpu, now);
  runqSort(pcpu);
}

/// The running vCPU at a tick (csched_unit_acct): its boost ends (it has now
/// used a tick's worth of CPU), it burns credit, and it joins accounting if it
/// was idle. One that keeps running while work waits behind it and another
/// pCPU idles moves there at its next deschedule.
void CreditPolicy::vcpuAcct(CreditVcpu& c, unsigned cpu, Ns now) {
  if (c.pri == Pri::Boost) c.pri = Pri::Under;
  burnCredits(c, now);
  if (!c.active) {
    acctStart(c);
    return;
  }
  if (pick(c) != cpu) {
    c.migrating = true;
    host_.tickle(cpu);
  }
}

/// A vCPU seen running at a tick earns credit from the next accounting on.
void CreditPolicy::acctStart(CreditVcpu& c) {
  if (c.active) return;
  CreditDomain& d = *c.dom;
  c.active = true;
  d.activeVcpus.push_front(&c);
  weight_ += d.weight;  // the weight counts once per active vCPU
  if (!d.active) {
    d.active = true;
    activeDomains_.push_front(&d);
  }
}

void CreditPolicy::acctStop(CreditVcpu& c) {
  if (!c.active) return;
  CreditDomain& d = *c.dom;
  c.active = false;
  d.activeVcpus.remove(&c);
  weight_ -= d.weight;
  if (d.activeVcpus.empty() && d.active) {
    d.active = false;
    activeDomains_.remove(&d);
  }
}

/// Hands out one time slice's credit of the available pCPUs among the active
/// domains by weight (csched_acct). A domain gets at most enough to run all
/// its active vCPUs for the whole slice (less with a cap) unless earlier
/// slices left the system short (negative balance); what it cannot use goes
/// to the domains after it. Then each vCPU's priority follows its credit.
void CreditPolicy::account() {
  const int64_t weightTotal = weight_;
  int64_t creditTotal = creditsPerTslice_ * static_cast<int64_t>(availableCount());
  if (creditBalance_ < 0) creditTotal -= creditBalance_;  // converge the balance back to 0
  if (weightTotal == 0) {
    creditBalance_ = 0;
    return;
  }
  int64_t weightLeft = weightTotal;
  int64_t balance = 0;
  int64_t capPerVcpu = 0;
  bool extra = false;
  for (auto it = activeDomains_.begin(); it != activeDomains_.end();) {
    const auto here = it++;
    CreditDomain& d = **here;
    const auto n = static_cast<int64_t>(d.activeVcpus.size());
    weightLeft -= d.weight * n;

    int64_t peak = n * creditsPerTslice_;
    if (creditBalance_ < 0) peak += (-creditBalance_ * d.weight * n + weightTotal - 1) / weightTotal;
    if (d.cap != 0) {
      const int64_t capCredit = (d.cap * creditsPerTslice_ + 99) / 100;
      peak = std::min(peak, capCredit);
      capPerVcpu = (capCredit + n - 1) / n;
    }

    int64_t fair = (creditTotal * d.weight * n + weightTotal - 1) / weightTotal;
    if (fair < peak) {
      extra = true;
    } else {
      // Give the domains after it a chance at what it cannot use.
      if (weightLeft != 0) creditTotal += ((fair - peak) * weightTotal + weightLeft - 1) / weightLeft;
      // Keep domains with extra credit at the head, so others get at it in
      // later slices.
      if (extra) activeDomains_.splice(activeDomains_.begin(), activeDomains_, here);
      fair = peak;
    }
    balance += creditDomain(d, (fair + n - 1) / n, capPerVcpu);
  }
  creditBalance_ = balance;
  ++runqSortEpoch_;  // priorities changed: each pCPU re-sorts at its next tick
}

/// Gives each active vCPU of `d` its share and sets its priority; parks an
/// overspent vCPU of a capped domain and unparks one back in credit; a vCPU
/// that gathered more than a slice's worth (it did not run for a whole slice)
/// stops earning and keeps half, to start a little ahead when it runs again.
/// Returns the credit the vCPUs hold now.
int64_t CreditPolicy::creditDomain(CreditDomain& d, int64_t perVcpu, int64_t capPerVcpu) {
  int64_t held = 0;
  for (auto it = d.activeVcpus.begin(); it != d.activeVcpus.end();) {
    CreditVcpu& c = **it++;  // acctStop() below removes c from the list
    c.credit += perVcpu;
    if (c.credit < 0) {
      c.pri = Pri::Over;
      if (d.cap != 0 && c.credit < -capPerVcpu && !c.parked) park(c);
      c.credit = std::max(c.credit, -creditsPerTslice_);  // lower bound on debt
    } else {
      c.pri = Pri::Under;
      if (c.parked) unpark(c);
      if (c.credit > creditsPerTslice_) {
        acctStop(c);
        c.credit /= 2;
      }
    }
    held += c.credit;
  }
  return held;
}

/// Takes a capped vCPU that overspent off its runqueue (or its pCPU, at the
/// next decision there) until accounting gives it credit again.
void CreditPolicy::park(CreditVcpu& c) {
  c.parked = true;
  if (c.runqCpu >= 0) runqRemove(c);
  if (c.onCpu >= 0) host_.tickle(static_cast<unsigned>(c.onCpu));
}

/// Requeues an unparked vCPU that is still awake, without a boost: it did not
/// block, it only waited for credit.
void CreditPolicy::unpark(CreditVcpu& c) {
  if (c.awake && c.onCpu < 0 && c.runqCpu < 0) queueAndTickle(c);
  c.parked = false;
}

/// After accounting changed priorities, moves UNDER (and BOOST) vCPUs ahead of
/// OVER ones, keeping their order (csched_runq_sort).
void CreditPolicy::runqSort(unsigned cpu) {
  if (runqSortLast_[cpu] == runqSortEpoch_) return;
  runqSortLast_[cpu] = runqSortEpoch_;
  auto& q = runq_[cpu];
  std::stable_partition(q.begin(), q.end(), [](const CreditVcpu* c) { return c->pri >= Pri::Under; });
}

}  // namespace smartvm::sched::credit
