#include "smartvm/dom0/cli/HostInfoFormat.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

namespace smartvm::dom0 {
namespace {

std::optional<unsigned> number(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// "4.17" -> {4, 17}; nothing for anything else.
std::optional<std::pair<unsigned, unsigned>> majorMinor(const std::string& version) {
  const size_t dot = version.find('.');
  if (dot == std::string::npos) return std::nullopt;
  const auto major = number(std::string_view(version).substr(0, dot));
  const auto minor = number(std::string_view(version).substr(dot + 1));
  if (!major || !minor) return std::nullopt;
  return std::make_pair(*major, *minor);
}

}  // namespace

std::string hostInfoLine(const std::string& key, const std::string& value) {
  std::string flat = value;
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  return fmt::format("{:<23}: {}\n", key, flat);
}

std::string formatHostInfo(const v1::HostInfo& info) {
  std::string out;
  out += hostInfoLine("host", info.hostname());
  out += hostInfoLine("release", info.release());
  out += hostInfoLine("nr_cpus", std::to_string(info.nr_cpus()));
  out += hostInfoLine("total_memory", std::to_string(info.total_memory_mib()));
  out += hostInfoLine("free_memory", std::to_string(info.free_memory_mib()));
  if (const auto mm = majorMinor(info.xen_version())) {
    out += hostInfoLine("xen_major", std::to_string(mm->first));
    out += hostInfoLine("xen_minor", std::to_string(mm->second));
  }
  out += hostInfoLine("xen_extra", info.xen_extra());
  out += hostInfoLine("xen_version", info.xen_version() + info.xen_extra());
  out += hostInfoLine("xen_caps", info.xen_caps());
  out += hostInfoLine("xen_scheduler", info.sched_policy());
  out += hostInfoLine("hv_version", info.hv_version());
  out += hostInfoLine("nr_domains", std::to_string(info.nr_domains()));
  out += hostInfoLine("uptime", std::to_string(info.uptime_s()));
  out += hostInfoLine("kvm_info", info.kvm_info());
  return out;
}

}  // namespace smartvm::dom0
