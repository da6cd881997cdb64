#pragma once
// smartvm-sched-bench: what one run measures (see README.md).
#include <cstdint>
#include <string>
#include <vector>

namespace smartvm::schedbench {

/// How many VMs run at once and how many vCPUs each has.
struct Setting {
  unsigned vms = 2;
  unsigned vcpus = 2;
  std::string label() const { return std::to_string(vms) + " VMs x " + std::to_string(vcpus) + " vCPUs"; }
};

/// One VM's RESULT par and TASK par lines and when the host saw it power off.
struct VmSample {
  unsigned index = 0;
  uint32_t domid = 0;
  // Guest Xen system time. parallelNs: vCPU 0's release of the first parallel
  // task to its passing the last barrier of the last one (the tasks run back to back).
  uint64_t serialNs = 0, parallelNs = 0, totalNs = 0;
  std::vector<uint64_t> taskNs;                        // per parallel task, in order
  std::vector<uint64_t> workNs;                        // per vCPU, CPL3 shares
  std::string value;                                   // the first task's answer, as printed
  std::vector<std::string> taskValues;                 // every task's answer
  std::string hintRc;                                  // 0, -38 or mixed
  double hostDoneS = 0;  // host wall time from unpausing all VMs to this one's poweroff
};

/// All VMs of one (job, setting, policy, repetition).
struct RunSample {
  std::string job;
  Setting setting;
  std::string policy;        // asked for
  std::string policyActive;  // Hypervisor::schedPolicy() after construction
  bool schedulerWired = false;  // the policy answered schedGlobalParams()
  unsigned rep = 0;
  double makespanS = 0;  // host wall: unpause of all VMs to the last poweroff (boot included)
  std::vector<VmSample> vms;

  double meanTotalS() const;
  /// Mean over VMs of parallelNs: the completion time of a VM's parallel tasks.
  double meanParallelS() const;
  /// Mean over VMs and tasks of one parallel task's time.
  double meanTaskS() const;
  double maxTotalS() const;
  /// Mean over VMs of serial_ns / total_ns.
  double serialShare() const;
};

}  // namespace smartvm::schedbench
