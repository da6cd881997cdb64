#pragma once
// xl's CPU-list syntax (xl.cfg `cpus=`, `xl vcpu-pin`): "all", "3", "0-3",
// comma-separated terms, and "^N" / "^N-M" to take CPUs out again, applied
// left to right ("0-7,^3" is 0-2,4-7).
#include <string>
#include <string_view>

#include "smartvm/Result.h"
#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched {

/// Parses `text`; every CPU named must be below `cpuCount`. EINVAL with the
/// offending term on a syntax error, a CPU out of range, or an empty result.
Result<CpuMask> parseCpuList(std::string_view text, unsigned cpuCount);

/// The shortest list naming `mask`'s CPUs below `cpuCount` ("0-3,6"), "all"
/// when that is all of them, "" when none.
std::string formatCpuList(const CpuMask& mask, unsigned cpuCount);

}  // namespace smartvm::sched
