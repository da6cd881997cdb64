#include "smartvm/dom0/cli/SchedParamsFormat.h"

#include <fmt/format.h>

namespace smartvm::dom0 {
namespace {

/// A parameter as text, "-" when the answer lacks it.
std::string param(const v1::SchedParams& p, const char* key) {
  const auto it = p.params().find(key);
  return it == p.params().end() ? "-" : std::to_string(it->second);
}

std::string yesNo(const v1::SchedParams& p, const char* key) {
  const auto it = p.params().find(key);
  if (it == p.params().end()) return "-";
  return it->second != 0 ? "yes" : "no";
}

}  // namespace

std::string formatSchedGlobal(SchedView view, const v1::SchedParams& global) {
  std::string out =
      fmt::format("Cpupool Pool-0: tslice={}ms ratelimit={}us", param(global, "tslice_ms"), param(global, "ratelimit_us"));
  if (view == SchedView::Parallel) {
    out += fmt::format(" gang_slice={}ms gang_share={}%", param(global, "gang_slice_ms"), param(global, "gang_share"));
  }
  return out + "\n";
}

std::string formatSchedDomains(SchedView view, const std::vector<v1::SchedParams>& domains) {
  const bool parallel = view == SchedView::Parallel;
  std::string out = fmt::format("{:<33} {:>4} {:>6} {:>4}", "Name", "ID", "Weight", "Cap");
  out += parallel ? fmt::format(" {:>10}\n", "Concurrent") : "\n";
  for (const v1::SchedParams& d : domains) {
    out += fmt::format("{:<33} {:>4} {:>6} {:>4}", d.name(), d.domid(), param(d, "weight"), param(d, "cap"));
    out += parallel ? fmt::format(" {:>10}\n", yesNo(d, "concurrent")) : "\n";
  }
  return out;
}

}  // namespace smartvm::dom0
