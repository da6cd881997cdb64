#pragma once
// `smartvm vcpu-list` output, in xl vcpu-list's layout. Pure function.
#include <string>
#include <vector>

#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

/// xl's header ("Name ID VCPU CPU State Time(s) Affinity (Hard / Soft)") and
/// one row per vCPU with xl's printf ("%-32s %5u %5u%5u %3c%c%c %9.1f  HARD / SOFT").
/// State is three letters: r running, b blocked, p paused or offline, else '-';
/// an offline vCPU, or one that has not run yet, shows "-" for its CPU.
std::string formatVcpuList(const std::vector<v1::VcpuInfo>& vcpus);

}  // namespace smartvm::dom0
