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

/// One VM's RESULT par line and when the host saw it power off.
struct VmSample {
  unsigned index = 0;
  uint32_t domid = 0;
  uint64_t serialNs = 0, parallelNs = 0, totalNs = 0;  // guest (Xen system time)
  std::vector<uint64_t> workNs;                        // per vCPU, CPL3 shares
  std::string value;                                   // the answer, as printed
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
  double meanParallelS() const;
  double maxTotalS() const;
  /// Mean over VMs of serial_ns / total_ns.
  double serialShare() const;
};

}  // namespace smartvm::schedbench
