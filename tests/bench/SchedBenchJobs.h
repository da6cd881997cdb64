#pragma once
// smartvm-sched-bench: the four parallel jobs of workload=par, their sizes and
// how to tell a right answer from a wrong one.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace smartvm::schedbench {

struct VmSample;

/// One job's sizes, per parallel task. The work of a dot, pi or rc4 task is
/// `size` cut into its layers; nbody's is `size` bodies per layer (a layer is a
/// time step).
struct JobSize {
  uint64_t size = 0;
  uint32_t layersPerTask = 1;
  uint64_t serialSteps = 0;  // steps of each serial pi task
};

struct JobSpec {
  std::string name;
  std::string sizeKey;     // the guest's option for `size`
  JobSize full, quick;
  uint64_t memoryMib = 64;  // per VM
  double targetPct = 0;     // the published completion-time reduction
};

/// The jobs in report order: dot, pi, rc4, nbody.
const std::vector<JobSpec>& allJobs();
const JobSpec* findJob(const std::string& name);

/// What a VM must print as value=, computed on the host once per size.
class AnswerChecker {
 public:
  /// Empty when every task's value of `vm` is right for `job` at `size` (and the
  /// same as every earlier VM's for that job and size); otherwise why not.
  std::string check(const JobSpec& job, const JobSize& size, const VmSample& vm);

 private:
  std::string expected(const JobSpec& job, uint64_t size, uint32_t layers);
  std::string checkOne(const std::string& key, const std::string& value);
  std::mutex m_;
  std::map<std::string, std::string> reference_;  // job/size/layers -> expected value text
  std::map<std::string, std::string> firstSeen_;  // job/size/layers -> first value printed
};

/// The tasks each VM runs (the published setup): kSerialTasks serial tasks,
/// then kParallelTasks parallel tasks back to back (guest option tasks=), each
/// its own parallel phase of layersPerTask layers computing the same answer.
constexpr unsigned kSerialTasks = 2;
constexpr unsigned kParallelTasks = 4;
constexpr uint64_t kRc4Seed = 7;
constexpr uint64_t kNbodySeed = 1;

}  // namespace smartvm::schedbench
