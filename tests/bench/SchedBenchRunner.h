#pragma once
// smartvm-sched-bench: one run = one job on N VMs at once under one policy,
// in a Hypervisor of its own.
#include <chrono>
#include <stdexcept>
#include <string>

#include "SchedBenchJobs.h"
#include "SchedBenchTypes.h"
#include "smartvm/hv/Hypervisor.h"

namespace smartvm::schedbench {

/// A guest that failed, hung or printed a wrong answer (exit 1).
class GuestFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunRequest {
  const JobSpec* job = nullptr;
  JobSize size;
  Setting setting;
  std::string policy;  // credit, parallel, none
  bool concurrentWork = false;  // set DomainConfig.concurrent_work under "parallel"
  unsigned rep = 0;
};

class PolicyRunner {
 public:
  PolicyRunner(hv::Platform& platform, std::string guestElf, std::string pcpus, AnswerChecker& checker,
               std::chrono::seconds timeout);
  /// Creates every VM paused, unpauses them together, waits for all, checks
  /// and returns their RESULT lines. Throws GuestFailure.
  RunSample run(const RunRequest& r);
  /// The guest command line of one VM.
  static std::string cmdline(const RunRequest& r);

 private:
  smartvm::v1::DomainConfig vmConfig(const RunRequest& r, unsigned index) const;
  VmSample collect(hv::Hypervisor& hv, const RunRequest& r, unsigned index, uint32_t domid);

  hv::Platform& platform_;
  std::string guestElf_, pcpus_;
  AnswerChecker& checker_;
  std::chrono::seconds timeout_;
};

}  // namespace smartvm::schedbench
