// smartvm-sched-bench: parsing RESULT par lines and per-run statistics.
#include "SchedBenchResult.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace smartvm::schedbench {

std::optional<ResultLine> ResultLine::parse(const std::string& console, size_t at, size_t headSize) {
  const size_t end = console.find('\n', at);
  ResultLine r;
  r.text_ = console.substr(at, end == std::string::npos ? std::string::npos : end - at);
  if (!r.text_.empty() && r.text_.back() == '\r') r.text_.pop_back();
  std::istringstream words(r.text_.substr(headSize));
  for (std::string w; words >> w;) {
    const size_t eq = w.find('=');
    if (eq != std::string::npos) r.fields_[w.substr(0, eq)] = w.substr(eq + 1);
  }
  return r;
}

std::optional<ResultLine> ResultLine::find(const std::string& console) {
  const std::string head = "RESULT par ";
  const size_t at = console.find(head);
  if (at == std::string::npos) return std::nullopt;
  return parse(console, at, head.size());
}

std::vector<ResultLine> ResultLine::findTasks(const std::string& console) {
  const std::string head = "TASK par ";
  std::vector<ResultLine> out;
  for (size_t at = console.find(head); at != std::string::npos; at = console.find(head, at + head.size()))
    out.push_back(*parse(console, at, head.size()));
  return out;
}

std::string ResultLine::value() const {
  std::string v = str("value");
  if (has("checksum_bits")) v += " checksum_bits=" + str("checksum_bits");
  return v;
}

std::string ResultLine::str(const std::string& key) const {
  auto it = fields_.find(key);
  return it == fields_.end() ? std::string() : it->second;
}

uint64_t ResultLine::num(const std::string& key) const {
  const std::string v = str(key);
  size_t used = 0;
  uint64_t n = 0;
  try {
    n = std::stoull(v, &used);
  } catch (...) {
    used = 0;
  }
  if (v.empty() || used != v.size()) throw std::runtime_error("RESULT par: bad or missing " + key + "= in: " + text_);
  return n;
}

void ResultLine::fill(VmSample& vm) const {
  vm.serialNs = num("serial_ns");
  vm.parallelNs = num("parallel_ns");
  vm.totalNs = num("total_ns");
  vm.value = value();
  vm.hintRc = str("hint_rc");
  vm.workNs.clear();
  std::istringstream parts(str("work_ns"));
  for (std::string p; std::getline(parts, p, ',');) vm.workNs.push_back(std::stoull(p));
}

// ---- RunSample statistics

double RunSample::meanTotalS() const {
  double s = 0;
  for (const auto& v : vms) s += static_cast<double>(v.totalNs);
  return vms.empty() ? 0 : s / static_cast<double>(vms.size()) / 1e9;
}

double RunSample::meanParallelS() const {
  double s = 0;
  for (const auto& v : vms) s += static_cast<double>(v.parallelNs);
  return vms.empty() ? 0 : s / static_cast<double>(vms.size()) / 1e9;
}

double RunSample::meanTaskS() const {
  double s = 0;
  size_t n = 0;
  for (const auto& v : vms)
    for (uint64_t t : v.taskNs) {
      s += static_cast<double>(t);
      ++n;
    }
  return n == 0 ? 0 : s / static_cast<double>(n) / 1e9;
}

double RunSample::maxTotalS() const {
  uint64_t m = 0;
  for (const auto& v : vms) m = std::max(m, v.totalNs);
  return static_cast<double>(m) / 1e9;
}

double RunSample::serialShare() const {
  double s = 0;
  for (const auto& v : vms) s += v.totalNs ? static_cast<double>(v.serialNs) / static_cast<double>(v.totalNs) : 0;
  return vms.empty() ? 0 : s / static_cast<double>(vms.size());
}

}  // namespace smartvm::schedbench
