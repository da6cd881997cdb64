#pragma once
// `smartvm list` output: xl's table, and JSON for `list -l`. Pure functions.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

/// xl's table header, tabs included.
inline constexpr const char* kDomainTableHeader =
    "Name                                        ID   Mem VCPUs\tState\tTime(s)";

/// xl's six state columns r b p s c d, each the letter or '-'. As in xl, the
/// fifth is the shutdown reason of a shut-down domain: r(eboot), s(uspend),
/// c(rash), w(atchdog), S(oft reset), '-' for poweroff.
std::string domainStateLetters(const v1::DomainInfo& info);

/// `xl list`: the header, then one line per domain in xl's printf format
/// "%-40s %5d %5lu %5d     %s  %8.1f".
std::string formatDomainTable(const std::vector<v1::DomainInfo>& domains);

/// One domain as JSON: domid, name, state, memory_mib, vcpus, cpu_time_s,
/// shutdown_reason, restarts, crash_detail, created_unix_ms, exit_counts,
/// hypercall_counts and config (enums as lower-case words).
nlohmann::json domainToJson(const v1::DomainInfo& info);

/// `xl list -l`: a JSON array of domainToJson, indented, with a final newline.
/// Bytes that are not UTF-8 come out as U+FFFD rather than failing.
std::string formatDomainJson(const std::vector<v1::DomainInfo>& domains);

/// Lower-case words for the enums, as used in the JSON ("running", "reboot", "restart", "pvh").
std::string domainStateName(v1::DomainState state);
std::string shutdownReasonName(v1::ShutdownReason reason);
std::string lifecycleActionName(v1::LifecycleAction action);
std::string domainTypeName(v1::DomainType type);

}  // namespace smartvm::dom0
