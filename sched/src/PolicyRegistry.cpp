#include "smartvm/sched/SchedPolicy.h"

#include "smartvm/sched/CreditPolicy.h"
#include "smartvm/sched/ParallelPolicy.h"

#include <fmt/format.h>

namespace smartvm::sched {

const char* vcpuStateName(VcpuState s) {
  switch (s) {
    case VcpuState::Running: return "running";
    case VcpuState::Runnable: return "runnable";
    case VcpuState::Blocked: return "blocked";
    case VcpuState::Paused: return "paused";
    case VcpuState::Offline: return "offline";
  }
  return "unknown";
}

const PolicyRegistry& PolicyRegistry::builtin() {
  static const PolicyRegistry registry = [] {
    PolicyRegistry r;
    // Each builtin policy adds itself here.
    r.add("credit", [](SchedHost& host) { return makeCreditPolicy(host); });
    r.add("parallel", [](SchedHost& host) { return makeParallelPolicy(host); });
    return r;
  }();
  return registry;
}

void PolicyRegistry::add(std::string name, PolicyFactory factory) { factories_[std::move(name)] = factory; }

Result<std::unique_ptr<SchedPolicy>> PolicyRegistry::create(std::string_view name, SchedHost& host) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    return error(ENOENT, fmt::format("unknown scheduler policy '{}' (known: {})", name, fmt::join(names(), ", ")));
  }
  std::unique_ptr<SchedPolicy> policy = it->second(host);
  if (policy == nullptr) return error(ENOENT, fmt::format("scheduler policy '{}' is missing a part it needs", name));
  return policy;
}

std::vector<std::string> PolicyRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, f] : factories_) out.push_back(n);
  return out;
}

}  // namespace smartvm::sched
