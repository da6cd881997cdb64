#pragma once
// `smartvm info` output in xl info's "key                    : value" lines. Pure function.
#include <string>

#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

/// xl info's layout: each key left-aligned in 23 columns, then ": value".
/// Keys: host, release, nr_cpus (the scheduler's pCPUs), total_memory,
/// free_memory (MiB, as xl), xen_major, xen_minor (when xen_version reads
/// "major.minor"), xen_extra, xen_version (version + extra, as xl), xen_caps,
/// xen_scheduler (the vCPU scheduler's policy), then Smart-VM's own:
/// hv_version, nr_domains, uptime (seconds), kvm_info.
std::string formatHostInfo(const v1::HostInfo& info);

/// One "key                    : value" line; newlines in the value become spaces.
std::string hostInfoLine(const std::string& key, const std::string& value);

}  // namespace smartvm::dom0
