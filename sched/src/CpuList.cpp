#include "smartvm/sched/CpuList.h"

#include <fmt/format.h>

#include <charconv>

namespace smartvm::sched {
namespace {

Result<unsigned> cpuNumber(std::string_view t, std::string_view term, unsigned cpuCount) {
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size())
    return error(EINVAL, fmt::format("bad CPU list term '{}': expected N, N-M or ^N", term));
  if (n >= cpuCount) return error(EINVAL, fmt::format("CPU {} in '{}' does not exist (CPUs 0..{})", n, term, cpuCount - 1));
  return n;
}

/// One comma-separated term applied to `mask`.
Status applyTerm(std::string_view term, unsigned cpuCount, CpuMask& mask) {
  const bool exclude = !term.empty() && term.front() == '^';
  std::string_view body = exclude ? term.substr(1) : term;
  if (body == "all") {
    for (unsigned c = 0; c < cpuCount; ++c) mask.set(c, !exclude);
    return Status::ok();
  }
  if (body.starts_with("node")) return error(EINVAL, fmt::format("'{}': NUMA node lists are not supported", term));
  const size_t dash = body.find('-');
  SMARTVM_ASSIGN_OR_RETURN(const unsigned first, cpuNumber(body.substr(0, dash), term, cpuCount));
  unsigned last = first;
  if (dash != std::string_view::npos) {
    SMARTVM_ASSIGN_OR_RETURN(last, cpuNumber(body.substr(dash + 1), term, cpuCount));
    if (last < first) return error(EINVAL, fmt::format("bad CPU range '{}': {} is below {}", term, last, first));
  }
  for (unsigned c = first; c <= last; ++c) mask.set(c, !exclude);
  return Status::ok();
}

}  // namespace

Result<CpuMask> parseCpuList(std::string_view text, unsigned cpuCount) {
  if (cpuCount == 0 || cpuCount > kMaxPcpus) return error(EINVAL, fmt::format("CPU count {} out of range", cpuCount));
  CpuMask mask;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = text.find(',', pos);
    std::string_view term = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!term.empty() && term.front() == ' ') term.remove_prefix(1);
    while (!term.empty() && term.back() == ' ') term.remove_suffix(1);
    if (term.empty()) return error(EINVAL, fmt::format("empty term in CPU list '{}'", text));
    SMARTVM_TRY(applyTerm(term, cpuCount, mask));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (mask.none()) return error(EINVAL, fmt::format("CPU list '{}' names no CPU", text));
  return mask;
}

std::string formatCpuList(const CpuMask& mask, unsigned cpuCount) {
  std::string out;
  unsigned set = 0;
  for (unsigned c = 0; c < cpuCount;) {
    if (!mask.test(c)) {
      ++c;
      continue;
    }
    unsigned end = c;
    while (end + 1 < cpuCount && mask.test(end + 1)) ++end;
    set += end - c + 1;
    if (!out.empty()) out += ',';
    out += end == c ? fmt::format("{}", c) : fmt::format("{}-{}", c, end);
    c = end + 1;
  }
  return set == cpuCount && cpuCount > 0 ? "all" : out;
}

}  // namespace smartvm::sched
