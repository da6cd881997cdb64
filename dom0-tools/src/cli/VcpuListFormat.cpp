#include "smartvm/dom0/cli/VcpuListFormat.h"

#include <fmt/format.h>

namespace smartvm::dom0 {
namespace {

std::string state(const v1::VcpuInfo& v) {
  if (!v.online()) return "--p";  // as xl: an offline vCPU is neither running nor blocked
  std::string s = "---";
  if (v.running()) s[0] = 'r';
  if (v.blocked()) s[1] = 'b';
  if (v.paused()) s[2] = 'p';
  return s;
}

std::string cpu(const v1::VcpuInfo& v) { return v.online() && v.pcpu() >= 0 ? std::to_string(v.pcpu()) : "-"; }

std::string affinity(const std::string& list) { return list.empty() ? "all" : list; }

}  // namespace

std::string formatVcpuList(const std::vector<v1::VcpuInfo>& vcpus) {
  std::string out = fmt::format("{:<32} {:>5} {:>5} {:>5} {:>5} {:>9} {}\n", "Name", "ID", "VCPU", "CPU", "State",
                                "Time(s)", "Affinity (Hard / Soft)");
  for (const v1::VcpuInfo& v : vcpus) {
    out += fmt::format("{:<32} {:>5} {:>5}{:>5} {:>5} {:>9.1f}  {} / {}\n", v.name(), v.domid(), v.vcpu(), cpu(v),
                       state(v), v.cpu_time_s(), affinity(v.hard_affinity()), affinity(v.soft_affinity()));
  }
  return out;
}

}  // namespace smartvm::dom0
