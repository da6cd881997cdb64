// smartvm-sched-bench: command line parsing.
#include "SchedBenchOptions.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "SchedBenchJobs.h"

namespace smartvm::schedbench {

std::vector<Setting> Options::settings() const {
  std::vector<Setting> s;
  for (unsigned n : vms)
    for (unsigned v : vcpus) s.push_back({n, v});
  return s;
}

std::vector<std::string> parseNames(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) throw std::invalid_argument("empty item in '" + text + "'");
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  if (out.empty()) throw std::invalid_argument("empty list");
  return out;
}

std::vector<unsigned> parseCounts(const std::string& text, unsigned lo, unsigned hi) {
  std::vector<unsigned> out;
  auto number = [&](const std::string& s) {
    size_t used = 0;
    unsigned long v = 0;
    try {
      v = std::stoul(s, &used);
    } catch (...) {
      used = 0;
    }
    if (s.empty() || used != s.size() || v < lo || v > hi)
      throw std::invalid_argument("'" + s + "' is not a number in " + std::to_string(lo) + ".." + std::to_string(hi));
    return static_cast<unsigned>(v);
  };
  for (const std::string& item : parseNames(text)) {
    const size_t dots = item.find("..");
    const unsigned a = number(item.substr(0, dots));
    const unsigned b = dots == std::string::npos ? a : number(item.substr(dots + 2));
    if (b < a) throw std::invalid_argument("empty range '" + item + "'");
    for (unsigned v = a; v <= b; ++v)
      if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

int parseOptions(int argc, char** argv, Options& o) {
  CLI::App app{
      "smartvm-sched-bench: the credit and parallel vCPU schedulers side by side on real guests.\n"
      "Per job (dot, pi, rc4, nbody) and setting (VMs x vCPUs), all VMs run at once on this host's pCPUs;\n"
      "each runs 2 serial tasks, then 4 parallel tasks split over its vCPUs with barriers (workload=par).\n"
      "Prints completion times, the reduction under 'parallel' and the published target; asserts nothing.\n"
      "Exit 77 = skipped (no usable /dev/kvm), 1 = a guest failed or printed a wrong answer."};
  std::string jobs, policies, vms, vcpus;
  unsigned timeoutS = static_cast<unsigned>(o.timeout.count());
  app.add_flag("--quick", o.quick, "smoke run: 2 VMs x 2 vCPUs (unless given) and small job sizes, < 60 s");
  app.add_option("--jobs", jobs, "jobs, comma separated (default dot,pi,rc4,nbody)");
  app.add_option("--policies", policies, "scheduler policies, comma separated (default credit,parallel,none)");
  app.add_option("--vms", vms, "VM counts, e.g. 2,4,8 (default) or 2..8");
  app.add_option("--vcpus", vcpus, "vCPUs per VM, e.g. 2,4 (default) or 2..4");
  app.add_option("--reps", o.reps, "repetitions of every run (means are reported)")->capture_default_str()->check(CLI::Range(1u, 100u));
  app.add_option("--out", o.outDir, "directory for the PNG plots")->capture_default_str();
  app.add_option("--json", o.json, "also write every sample to this JSON file");
  app.add_option("--pcpus", o.pcpus, "host cores for the pCPUs (HypervisorOptions::pcpus; default every core)");
  app.add_flag("--concurrent-work", o.concurrentWork,
               "under 'parallel', also set DomainConfig.concurrent_work (whole VM gang-scheduled); default: only the "
               "guest's SMARTVM_SCHEDOP_parallel begin/end hints mark the parallel phase");
  app.add_option("--timeout", timeoutS, "seconds one VM may take (--quick: 20 unless given)")->capture_default_str()->check(CLI::Range(1u, 86400u));
  app.add_option("--guest", o.guest, "PVH guest kernel (smartvm-guest.elf)")->capture_default_str();
  try {
    app.parse(argc, argv);
    if (!jobs.empty()) o.jobs = parseNames(jobs);
    for (const auto& j : o.jobs)
      if (!findJob(j)) throw CLI::ValidationError("--jobs", "unknown job '" + j + "' (dot, pi, rc4, nbody)");
    if (!policies.empty()) o.policies = parseNames(policies);
    if (o.quick && vms.empty()) o.vms = {2};
    if (o.quick && vcpus.empty()) o.vcpus = {2};
    if (!vms.empty()) o.vms = parseCounts(vms, 1, 64);
    if (!vcpus.empty()) o.vcpus = parseCounts(vcpus, 1, 64);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::invalid_argument& e) {
    std::cerr << "smartvm-sched-bench: " << e.what() << "\n";
    return 2;
  }
  // A hung guest must not eat the ctest's budget: quick runs take well under a second per VM.
  if (o.quick && app.count("--timeout") == 0) timeoutS = 20;
  o.timeout = std::chrono::seconds(timeoutS);
  o.guest = std::filesystem::absolute(o.guest).string();
  return -1;
}

}  // namespace smartvm::schedbench
