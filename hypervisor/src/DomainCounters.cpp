#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include "smartvm/hv/DomainCounters.h"

#include <xen/xen.h>

namespace smartvm::hv {

std::string hypercallName(unsigned nr) {
  switch (nr) {
    case __HYPERVISOR_set_trap_table: return "set_trap_table";
    case __HYPERVISOR_mmu_update: return "mmu_update";
    case __HYPERVISOR_set_timer_op: return "set_timer_op";
    case __HYPERVISOR_platform_op: return "platform_op";
    case __HYPERVISOR_memory_op: return "memory_op";
    case __HYPERVISOR_multicall: return "multicall";
    case __HYPERVISOR_xen_version: return "xen_version";
    case __HYPERVISOR_console_io: return "console_io";
    case __HYPERVISOR_physdev_op_compat: return "physdev_op_compat";
    case __HYPERVISOR_grant_table_op: return "grant_table_op";
    case __HYPERVISOR_vm_assist: return "vm_assist";
    case __HYPERVISOR_vcpu_op: return "vcpu_op";
    case __HYPERVISOR_mmuext_op: return "mmuext_op";
    case __HYPERVISOR_xsm_op: return "xsm_op";
    case __HYPERVISOR_nmi_op: return "nmi_op";
    case __HYPERVISOR_sched_op: return "sched_op";
    case __HYPERVISOR_callback_op: return "callback_op";
    case __HYPERVISOR_event_channel_op: return "event_channel_op";
    case __HYPERVISOR_physdev_op: return "physdev_op";
    case __HYPERVISOR_hvm_op: return "hvm_op";
    case __HYPERVISOR_sysctl: return "sysctl";
    case __HYPERVISOR_domctl: return "domctl";
    case __HYPERVISOR_tmem_op: return "tmem_op";
    case __HYPERVISOR_argo_op: return "argo_op";
    case __HYPERVISOR_xenpmu_op: return "xenpmu_op";
    case __HYPERVISOR_dm_op: return "dm_op";
    case __HYPERVISOR_hypfs_op: return "hypfs_op";
    default: return "hypercall_" + std::to_string(nr);
  }
}

std::map<std::string, uint64_t> DomainCounters::exitCounts() const {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < exits.size(); ++i) {
    if (const uint64_t n = exits[i].load()) out[exitReasonName(static_cast<ExitReason>(i))] = n;
  }
  return out;
}

std::map<std::string, uint64_t> DomainCounters::hypercallCounts() const {
  std::map<std::string, uint64_t> out;
  for (unsigned i = 0; i < hypercalls.size(); ++i) {
    if (const uint64_t n = hypercalls[i].load()) out[hypercallName(i)] = n;
  }
  // unknownHypercalls also drives log rate-limiting, so it counts every -ENOSYS.
  if (const uint64_t n = unknownHypercalls.load()) out["unknown"] = n;
  return out;
}

std::map<std::string, uint64_t> DomainCounters::haltCounts() const {
  std::map<std::string, uint64_t> out;
  auto put = [&out](const char* name, const std::atomic<uint64_t>& n) {
    if (const uint64_t v = n.load()) out[name] = v;
  };
  put("halt_block", haltBlocks);
  put("halt_block_timed", timedHaltBlocks);
  put("halt_check", haltChecks);
  put("halt_check_block", haltCheckBlocks);
  return out;
}

}  // namespace smartvm::hv
