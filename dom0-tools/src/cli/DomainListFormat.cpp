#include "smartvm/dom0/cli/DomainListFormat.h"

#include <fmt/format.h>

#include <map>

namespace smartvm::dom0 {
namespace {

using nlohmann::json;

/// xl's shutdown_reason_letters ("-rscwS"), indexed by our ShutdownReason (NONE and POWEROFF both '-').
char shutdownLetter(v1::ShutdownReason reason) {
  switch (reason) {
    case v1::SHUTDOWN_REASON_REBOOT: return 'r';
    case v1::SHUTDOWN_REASON_SUSPEND: return 's';
    case v1::SHUTDOWN_REASON_CRASH: return 'c';
    case v1::SHUTDOWN_REASON_WATCHDOG: return 'w';
    case v1::SHUTDOWN_REASON_SOFT_RESET: return 'S';
    default: return '-';
  }
}

/// Seconds as xl computes them, through a float, so the last digit matches xl's.
double xlSeconds(uint64_t ns) { return static_cast<double>(static_cast<float>(ns)) / 1e9; }

json countsToJson(const google::protobuf::Map<std::string, uint64_t>& counts) {
  // Sorted, so the output is stable from one run to the next.
  std::map<std::string, uint64_t> sorted(counts.begin(), counts.end());
  json out = json::object();
  for (const auto& [name, count] : sorted) out[name] = count;
  return out;
}

/// xl's disk spec fields; with smartvmd the disks the domain has now (hot-plugged ones too).
json disksToJson(const v1::DomainConfig& c) {
  json out = json::array();
  for (const v1::DiskSpec& d : c.disks()) {
    out.push_back(json{{"vdev", d.vdev()}, {"format", d.format()}, {"access", d.read_only() ? "ro" : "rw"},
                       {"target", d.target()}});
  }
  return out;
}

json configToJson(const v1::DomainConfig& c) {
  return json{{"name", c.name()},
              {"type", domainTypeName(c.type())},
              {"memory_mib", c.memory_mib()},
              {"vcpus", c.vcpus()},
              {"kernel", c.kernel()},
              {"ramdisk", c.ramdisk()},
              {"cmdline", c.cmdline()},
              {"on_poweroff", lifecycleActionName(c.on_poweroff())},
              {"on_reboot", lifecycleActionName(c.on_reboot())},
              {"on_crash", lifecycleActionName(c.on_crash())},
              {"start_paused", c.start_paused()},
              {"disks", disksToJson(c)},
              {"source_file", c.source_file()}};
}

}  // namespace

std::string domainStateName(v1::DomainState state) {
  switch (state) {
    case v1::DOMAIN_STATE_RUNNING: return "running";
    case v1::DOMAIN_STATE_BLOCKED: return "blocked";
    case v1::DOMAIN_STATE_PAUSED: return "paused";
    case v1::DOMAIN_STATE_SHUTDOWN: return "shutdown";
    case v1::DOMAIN_STATE_CRASHED: return "crashed";
    case v1::DOMAIN_STATE_DYING: return "dying";
    default: return "unknown";
  }
}

std::string shutdownReasonName(v1::ShutdownReason reason) {
  switch (reason) {
    case v1::SHUTDOWN_REASON_NONE: return "none";
    case v1::SHUTDOWN_REASON_POWEROFF: return "poweroff";
    case v1::SHUTDOWN_REASON_REBOOT: return "reboot";
    case v1::SHUTDOWN_REASON_SUSPEND: return "suspend";
    case v1::SHUTDOWN_REASON_CRASH: return "crash";
    case v1::SHUTDOWN_REASON_WATCHDOG: return "watchdog";
    case v1::SHUTDOWN_REASON_SOFT_RESET: return "soft_reset";
    default: return "unknown";
  }
}

std::string lifecycleActionName(v1::LifecycleAction action) {
  switch (action) {
    case v1::LIFECYCLE_ACTION_DEFAULT: return "default";
    case v1::LIFECYCLE_ACTION_DESTROY: return "destroy";
    case v1::LIFECYCLE_ACTION_RESTART: return "restart";
    case v1::LIFECYCLE_ACTION_PRESERVE: return "preserve";
    default: return "unknown";
  }
}

std::string domainTypeName(v1::DomainType type) {
  switch (type) {
    case v1::DOMAIN_TYPE_UNSPECIFIED: return "unspecified";
    case v1::DOMAIN_TYPE_PVH: return "pvh";
    default: return "unknown";
  }
}

std::string domainStateLetters(const v1::DomainInfo& info) {
  const v1::DomainState s = info.state();
  // Xen reports a crashed domain as shut down with reason crash.
  const bool shutdown = s == v1::DOMAIN_STATE_SHUTDOWN || s == v1::DOMAIN_STATE_CRASHED;
  const char reason = s == v1::DOMAIN_STATE_CRASHED ? 'c' : (shutdown ? shutdownLetter(info.shutdown_reason()) : '-');
  std::string letters;
  letters += s == v1::DOMAIN_STATE_RUNNING ? 'r' : '-';
  letters += s == v1::DOMAIN_STATE_BLOCKED ? 'b' : '-';
  letters += s == v1::DOMAIN_STATE_PAUSED ? 'p' : '-';
  letters += shutdown ? 's' : '-';
  letters += reason;
  letters += s == v1::DOMAIN_STATE_DYING ? 'd' : '-';
  return letters;
}

std::string formatDomainTable(const std::vector<v1::DomainInfo>& domains) {
  std::string out = kDomainTableHeader;
  out += '\n';
  for (const v1::DomainInfo& d : domains) {
    out += fmt::format("{:<40} {:>5} {:>5} {:>5}     {}  {:>8.1f}\n", d.name(), d.domid(), d.memory_mib(), d.vcpus(),
                       domainStateLetters(d), xlSeconds(d.cpu_time_ns()));
  }
  return out;
}

nlohmann::json domainToJson(const v1::DomainInfo& d) {
  return json{{"domid", d.domid()},
              {"name", d.name()},
              {"state", domainStateName(d.state())},
              {"memory_mib", d.memory_mib()},
              {"vcpus", d.vcpus()},
              {"cpu_time_s", static_cast<double>(d.cpu_time_ns()) / 1e9},
              {"shutdown_reason", shutdownReasonName(d.shutdown_reason())},
              {"restarts", d.restarts()},
              {"crash_detail", d.crash_detail()},
              {"created_unix_ms", d.created_unix_ms()},
              {"exit_counts", countsToJson(d.exit_counts())},
              {"hypercall_counts", countsToJson(d.hypercall_counts())},
              {"config", configToJson(d.config())}};
}

std::string formatDomainJson(const std::vector<v1::DomainInfo>& domains) {
  json array = json::array();
  for (const v1::DomainInfo& d : domains) array.push_back(domainToJson(d));
  return array.dump(4, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace smartvm::dom0
