#pragma once
// The credit policy's class, shared by its source files: runqueues and
// scheduling decisions (CreditPolicy.cpp), credit burning and accounting
// (CreditPolicyAccounting.cpp), parameters and dump (CreditPolicyParams.cpp).
// Private to sched/src; the public face is smartvm/sched/CreditPolicy.h.
// Names in comments (csched_acct, __runq_tickle, ...) are Xen's, from
// xen/common/sched/credit.c, so the two can be read side by side.
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "smartvm/sched/CreditPolicy.h"

namespace smartvm::sched::credit {

// Xen's constants (CSCHED_*, XEN_SYSCTL_*).
inline constexpr int64_t kDefaultWeight = 256;
inline constexpr int64_t kMaxWeight = 65535;
inline constexpr int64_t kTicksPerTslice = 3;
inline constexpr int64_t kDefaultTsliceMs = 30;
inline constexpr int64_t kMinTsliceMs = 1;
inline constexpr int64_t kMaxTsliceMs = 1000;
inline constexpr int64_t kCreditsPerMs = 10;
inline constexpr int64_t kDefaultRatelimitUs = 1000;
inline constexpr int64_t kMinRatelimitUs = 100;
inline constexpr int64_t kMaxRatelimitUs = 500000;
/// Never ask for a slice shorter than this (CSCHED_MIN_TIMER).
inline constexpr Ns kMinTimer = kMinRatelimitUs * kNsPerUs;

/// Priorities, higher runs first (CSCHED_PRI_*). A pCPU running nothing is at Idle.
enum class Pri : int { Idle = -64, Over = -2, Under = -1, Boost = 0 };
const char* priName(Pri p);

struct CreditDomain;

/// Per-vCPU state (struct csched_unit), in SchedVcpu::priv.
struct CreditVcpu final : PolicyData {
  SchedVcpu* vcpu = nullptr;
  CreditDomain* dom = nullptr;
  Pri pri = Pri::Under;
  int64_t credit = 0;
  Ns residual = 0;      ///< run time not yet burnt, in credit*ns (< 1 credit)
  Ns startTime = 0;     ///< burnt up to here (while it runs)
  Ns runStart = 0;      ///< its current run started here (for ratelimit)
  int runqCpu = -1;     ///< the runqueue it waits on, or -1
  int onCpu = -1;       ///< the pCPU this policy runs it on, or -1
  bool awake = false;   ///< woken and not put to sleep since
  bool active = false;  ///< on its domain's active list: earns credit
  bool parked = false;  ///< capped and overspent: not run until accounting unparks it
  bool yielding = false;
  bool migrating = false;  ///< its tick found a better pCPU; it moves when descheduled
};

/// Per-domain state (struct csched_dom), in SchedDomain::priv.
struct CreditDomain final : PolicyData {
  const SchedDomain* dom = nullptr;  ///< nullptr for the policy's own orphan domain
  int64_t weight = kDefaultWeight;
  int64_t cap = 0;
  std::list<CreditVcpu*> activeVcpus;  ///< earning credit
  bool active = false;                 ///< on CreditPolicy::activeDomains_
};

class CreditPolicy final : public SchedPolicy {
 public:
  explicit CreditPolicy(SchedHost& host);

  std::string_view name() const override { return "credit"; }

  void insertDomain(SchedDomain& d) override;
  void removeDomain(SchedDomain& d) override;
  void insertVcpu(SchedVcpu& v) override;
  void removeVcpu(SchedVcpu& v) override;

  void sleep(SchedVcpu& v, Ns now) override;
  void wake(SchedVcpu& v, Ns now) override;
  void yield(SchedVcpu& v) override;

  Decision doSchedule(unsigned pcpu, SchedVcpu* prev, bool prevRunnable, Ns now) override;
  unsigned pickCpu(const SchedVcpu& v) override;
  Status setPcpuAvailable(unsigned pcpu, bool available) override;

  Ns tickPeriod() const override { return tickPeriod_; }
  void tick(unsigned pcpu, Ns now) override;
  /// Credit has no notion of concurrent work: every hint is accepted and ignored.
  Status workHint(SchedVcpu& v, WorkHint hint, Ns now) override;

  Result<Params> domainParams(const SchedDomain& d) const override;
  Status setDomainParams(SchedDomain& d, const Params& p) override;
  Params globalParams() const override;
  Status setGlobalParams(const Params& p) override;
  void dump(std::ostream& out) const override;

 private:
  static CreditVcpu* find(const SchedVcpu& v);
  static CreditDomain* find(const SchedDomain& d);
  static bool canRun(const CreditVcpu& c) { return c.awake && !c.parked && !c.migrating; }

  // Runqueues and placement (CreditPolicy.cpp).
  void runqInsert(CreditVcpu& c, unsigned cpu);
  void runqRemove(CreditVcpu& c);
  void runqTickle(const CreditVcpu& c, unsigned cpu);
  void queueAndTickle(CreditVcpu& c);
  unsigned pick(const CreditVcpu& c) const;
  CpuMask availableMask() const;
  unsigned availableCount() const;
  void setCurrent(unsigned cpu, CreditVcpu* c);

  // Decisions (CreditPolicy.cpp).
  void dropStaleCurrent(unsigned cpu, const CreditVcpu* prev);
  bool keepForRatelimit(CreditVcpu& c, Ns now, Decision& d);
  CreditVcpu* pickNext(unsigned cpu, bool& stolen);
  CreditVcpu* loadBalance(unsigned cpu, Pri pri);
  CreditVcpu* steal(unsigned peer, unsigned cpu, Pri pri);
  void moveAway(CreditVcpu& c);
  Decision handBack(unsigned cpu, CreditVcpu* prev, Ns now);

  // Credit (CreditPolicyAccounting.cpp).
  void burnCredits(CreditVcpu& c, Ns now);
  void vcpuAcct(CreditVcpu& c, unsigned cpu, Ns now);
  void acctStart(CreditVcpu& c);
  void acctStop(CreditVcpu& c);
  void account();
  int64_t creditDomain(CreditDomain& d, int64_t perVcpu, int64_t capPerVcpu);
  void park(CreditVcpu& c);
  void unpark(CreditVcpu& c);
  void runqSort(unsigned cpu);

  // Parameters (CreditPolicyParams.cpp).
  void setTslice(int64_t ms);
  Status checkDomainParams(const Params& p) const;
  Status checkGlobalParams(const Params& p) const;
  void dumpVcpu(std::ostream& out, const CreditVcpu& c) const;
  void dumpCpu(std::ostream& out, unsigned cpu) const;

  SchedHost& host_;
  const unsigned ncpus_;
  CpuMask valid_;                              ///< the pCPUs that exist
  std::vector<std::list<CreditVcpu*>> runq_;   ///< per pCPU, by priority, FIFO within one
  std::vector<CreditVcpu*> curr_;              ///< per pCPU: what this policy runs there
  std::vector<bool> available_;                ///< per pCPU: not lent away
  std::vector<uint32_t> runqSortLast_;         ///< per pCPU: accounting epoch last sorted for
  CpuMask idlers_;                             ///< idle pCPUs not tickled since (prv->idlers)
  std::vector<CreditDomain*> domains_;         ///< inserted domains, for dump
  std::unique_ptr<CreditDomain> orphans_;      ///< for vCPUs of no known domain
  std::list<CreditDomain*> activeDomains_;     ///< prv->active_sdom
  int64_t weight_ = 0;                         ///< sum of active vCPUs' domain weights
  int64_t creditBalance_ = 0;                  ///< credit left over at the last accounting
  uint32_t runqSortEpoch_ = 0;                 ///< bumped by each accounting
  unsigned balanceBias_ = 0;                   ///< last pCPU stolen from
  unsigned lastTickle_ = 0;                    ///< last idle pCPU tickled
  Ns tslice_ = 0;
  Ns tickPeriod_ = 0;
  int64_t creditsPerTslice_ = 0;
  Ns ratelimit_ = kDefaultRatelimitUs * kNsPerUs;
  Ns nextAcct_ = 0;
};

}  // namespace smartvm::sched::credit
