// smartvm-sched-bench: the credit and parallel vCPU schedulers side by side on
// real guests (workload=par). Reports completion times and reductions against
// the published targets; asserts nothing about speed. Exit 0 after a run, 77
// when /dev/kvm is unusable, 1 when a guest fails or prints a wrong answer,
// 2 on another error. See tests/bench/README.md.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "SchedBenchJobs.h"
#include "SchedBenchOptions.h"
#include "SchedBenchPlot.h"
#include "SchedBenchReport.h"
#include "SchedBenchRunner.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

using namespace smartvm::schedbench;

namespace {

std::string secs(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

nlohmann::json configJson(const Options& o, const std::string& platform) {
  nlohmann::json jobs = nlohmann::json::object();
  for (const auto& name : o.jobs) {
    const JobSpec& j = *findJob(name);
    const JobSize& s = o.quick ? j.quick : j.full;
    jobs[name] = {{"size_key", j.sizeKey}, {"size", s.size}, {"layers_per_task", s.layersPerTask},
                  {"serial_steps", s.serialSteps}, {"memory_mib", j.memoryMib}, {"target_pct", j.targetPct}};
  }
  return {{"quick", o.quick}, {"policies", o.policies}, {"vms", o.vms}, {"vcpus", o.vcpus}, {"reps", o.reps},
          {"pcpus", o.pcpus}, {"concurrent_work", o.concurrentWork}, {"host_cores", std::thread::hardware_concurrency()}, {"platform", platform},
          {"serial_tasks", kSerialTasks}, {"parallel_tasks", kParallelTasks}, {"jobs", jobs}};
}

class Bench {
 public:
  Bench(const Options& o, smartvm::hv::Platform& platform)
      : o_(o), runner_(platform, o.guest, o.pcpus, checker_, o.timeout), report_(o.jobs, o.settings(), o.policies) {}

  /// Every run, one progress line each on stderr. Throws GuestFailure.
  void runAll() {
    const size_t total = o_.jobs.size() * o_.settings().size() * o_.reps * o_.policies.size();
    size_t k = 0;
    for (const auto& name : o_.jobs) {
      const JobSpec& job = *findJob(name);
      for (const Setting& s : o_.settings())
        for (unsigned rep = 0; rep < o_.reps; ++rep)
          for (const auto& policy : o_.policies) {  // interleaved: host drift hits every policy alike
            RunRequest r{&job, o_.quick ? job.quick : job.full, s, policy, o_.concurrentWork, rep};
            const auto t0 = std::chrono::steady_clock::now();
            RunSample sample = runner_.run(r);
            const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::cerr << "[" << ++k << "/" << total << "] " << name << " " << s.label() << " " << policy
                      << (o_.reps > 1 ? " rep " + std::to_string(rep + 1) : "") << ": mean " << secs(sample.meanTotalS())
                      << " s (parallel tasks " << secs(sample.meanParallelS()) << " s), makespan " << secs(sample.makespanS)
                      << " s, hint_rc " << sample.vms.front().hintRc << ", run " << secs(wall) << " s\n";
            report_.add(std::move(sample));
          }
    }
  }

  void finish(const std::string& platform) {
    report_.print(std::cout);
    for (const auto& png : Plotter(o_.outDir).plot(report_)) std::cout << "wrote " << png << "\n";
    if (!o_.json.empty()) {
      std::error_code ec;
      if (const auto dir = std::filesystem::path(o_.json).parent_path(); !dir.empty())
        std::filesystem::create_directories(dir, ec);
      std::ofstream f(o_.json);
      f << report_.json(configJson(o_, platform)).dump(2) << "\n";
      std::cout << (f ? "wrote " : "could not write ") << o_.json << "\n";
    }
    std::cout.flush();
  }

 private:
  const Options& o_;
  AnswerChecker checker_;
  PolicyRunner runner_;
  Report report_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.guest = SMARTVM_GUEST_ELF;
  if (int rc = parseOptions(argc, argv, o); rc >= 0) return rc;
  spdlog::set_level(spdlog::level::warn);  // domain create/destroy chatter would drown the tables
  if (std::string why = smartvm::hv::kvmUnavailableReason(); !why.empty()) {
    std::cout << "SKIP: smartvm-sched-bench needs /dev/kvm: " << why << "\n";
    return 77;
  }
  if (!std::filesystem::exists(o.guest)) {
    std::cerr << "smartvm-sched-bench: guest kernel not found: " << o.guest << " (build target smartvm_guest)\n";
    return 2;
  }
  auto platform = smartvm::hv::KvmPlatform::open();
  if (!platform) {
    std::cout << "SKIP: cannot use KVM: " << platform.status().toString() << "\n";
    return 77;
  }
  const std::string describe = (*platform)->describe();
  std::cout << "smartvm-sched-bench: " << (o.quick ? "quick, " : "") << o.settings().size() << " settings x "
            << o.jobs.size() << " jobs x " << o.policies.size() << " policies x " << o.reps << " reps on "
            << std::thread::hardware_concurrency() << " host cores\nplatform: " << describe << "\n";
  for (const auto& name : o.jobs) {
    const JobSpec& j = *findJob(name);
    RunRequest r{&j, o.quick ? j.quick : j.full, {0, 0}, "", false, 0};
    std::cout << "  " << name << ": " << PolicyRunner::cmdline(r).substr(0, PolicyRunner::cmdline(r).rfind(" vcpus="))
              << " (" << j.memoryMib << " MiB per VM)\n";
  }
  Bench bench(o, **platform);
  try {
    bench.runAll();
  } catch (const GuestFailure& e) {
    std::cerr << "smartvm-sched-bench: GUEST FAILURE: " << e.what() << "\n";
    bench.finish(describe);
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "smartvm-sched-bench: " << e.what() << "\n";
    return 2;
  }
  bench.finish(describe);
  return 0;
}
