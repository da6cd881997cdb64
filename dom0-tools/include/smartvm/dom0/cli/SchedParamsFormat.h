#pragma once
// `smartvm sched-credit` / `sched-parallel` output, in xl sched-credit's
// layout. Pure functions; a parameter the answer lacks prints as "-".
#include <string>
#include <vector>

#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

/// Which command's columns: credit's (Weight, Cap) or parallel's (plus Concurrent).
enum class SchedView { Credit, Parallel };

/// xl's pool line: "Cpupool Pool-0: tslice=30ms ratelimit=1000us"; parallel adds
/// " gang_slice=10ms gang_share=50%".
std::string formatSchedGlobal(SchedView view, const v1::SchedParams& global);

/// xl's table: a header ("%-33s %4s %6s %4s": Name ID Weight Cap; parallel adds
/// "%10s" Concurrent, yes/no) and one row per domain, in the order given.
std::string formatSchedDomains(SchedView view, const std::vector<v1::SchedParams>& domains);

}  // namespace smartvm::dom0
