// smartvm-sched-bench: boots the VMs of one run and collects their RESULT lines.
#include "SchedBenchRunner.h"

#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

#include "SchedBenchResult.h"

namespace smartvm::schedbench {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string consoleOf(hv::Hypervisor& hv, uint32_t domid) {
  auto c = hv.console(domid);
  return c ? (*c)->snapshot() : std::string();
}

/// The TASK par lines: exactly kParallelTasks, numbered in order, each with
/// its own full set of hints and a time; their values go to the checker.
template <typename Fail>
void collectTasks(const std::string& console, uint64_t callsPerTask, VmSample& vm, const Fail& fail) {
  const auto tasks = ResultLine::findTasks(console);
  if (tasks.size() != kParallelTasks)
    throw fail(std::to_string(tasks.size()) + " TASK par lines, want " + std::to_string(kParallelTasks));
  for (size_t t = 0; t < tasks.size(); ++t) {
    const ResultLine& l = tasks[t];
    const std::string which = "task " + std::to_string(t + 1) + ": ";
    if (l.num("task") != t + 1) throw fail(which + "numbered task=" + l.str("task"));
    if (l.num("hint_calls") != callsPerTask) throw fail(which + "wrong hint_calls=");
    if (l.num("task_ns") == 0) throw fail(which + "task_ns=0");
    vm.taskNs.push_back(l.num("task_ns"));
    vm.taskValues.push_back(l.value());
  }
}

}  // namespace

PolicyRunner::PolicyRunner(hv::Platform& platform, std::string guestElf, std::string pcpus, AnswerChecker& checker,
                           std::chrono::seconds timeout)
    : platform_(platform), guestElf_(std::move(guestElf)), pcpus_(std::move(pcpus)), checker_(checker),
      timeout_(timeout) {}

std::string PolicyRunner::cmdline(const RunRequest& r) {
  const JobSpec& j = *r.job;
  std::string c = "workload=par job=" + j.name + " " + j.sizeKey + "=" + std::to_string(r.size.size) +
                  " layers=" + std::to_string(r.size.layersPerTask) + " tasks=" + std::to_string(kParallelTasks) +
                  " serial=" + std::to_string(kSerialTasks) + " serial_steps=" + std::to_string(r.size.serialSteps) +
                  " vcpus=" + std::to_string(r.setting.vcpus);
  if (j.name == "rc4") c += " seed=" + std::to_string(kRc4Seed);
  if (j.name == "nbody") c += " seed=" + std::to_string(kNbodySeed);
  return c;
}

smartvm::v1::DomainConfig PolicyRunner::vmConfig(const RunRequest& r, unsigned index) const {
  smartvm::v1::DomainConfig c;
  c.set_name("sched-" + r.job->name + "-" + std::to_string(index));
  c.set_type(smartvm::v1::DOMAIN_TYPE_PVH);
  c.set_memory_mib(r.job->memoryMib);
  c.set_vcpus(r.setting.vcpus);
  c.set_kernel(guestElf_);
  c.set_cmdline(cmdline(r));
  c.set_start_paused(true);  // all VMs start together
  c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_reboot(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_crash(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  // The whole VM's work marked concurrent: the parallel policy gang-schedules
  // all of it. Without it, the guest's begin/end hints mark the parallel phase.
  c.set_concurrent_work(r.concurrentWork && r.policy == "parallel");
  return c;
}

RunSample PolicyRunner::run(const RunRequest& r) {
  hv::HypervisorOptions ho;
  ho.schedPolicy = r.policy;
  ho.pcpus = pcpus_;
  if (Status s = hv::Hypervisor::checkOptions(ho); !s)
    throw std::runtime_error("policy '" + r.policy + "': " + s.toString());
  hv::Hypervisor hv(platform_, ho);

  RunSample out;
  out.job = r.job->name;
  out.setting = r.setting;
  out.policy = r.policy;
  out.policyActive = hv.schedPolicy();
  out.schedulerWired = hv.schedGlobalParams().isOk();
  out.rep = r.rep;

  std::vector<uint32_t> ids;
  for (unsigned i = 0; i < r.setting.vms; ++i) {
    auto info = hv.createDomain(vmConfig(r, i));
    if (!info) throw std::runtime_error("createDomain VM " + std::to_string(i) + ": " + info.status().toString());
    ids.push_back(info->domid());
  }
  const Clock::time_point t0 = Clock::now();
  for (uint32_t id : ids)
    if (Status s = hv.unpause(id); !s) throw std::runtime_error("unpause " + std::to_string(id) + ": " + s.toString());

  // One waiter per VM, so each VM's poweroff is timestamped when it happens.
  std::vector<double> done(ids.size(), -1);
  std::vector<Status> waited(ids.size());
  {
    std::vector<std::jthread> waiters;
    for (size_t i = 0; i < ids.size(); ++i)
      waiters.emplace_back([&, i] {
        waited[i] = hv.waitForShutdown(ids[i], timeout_);
        done[i] = secondsSince(t0);
      });
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!waited[i])
      throw GuestFailure(out.job + " " + r.setting.label() + " " + r.policy + ": VM " + std::to_string(i) +
                         " did not finish: " + waited[i].toString() + "\nconsole:\n" + consoleOf(hv, ids[i]));
    VmSample vm = collect(hv, r, static_cast<unsigned>(i), ids[i]);
    vm.hostDoneS = done[i];
    out.makespanS = std::max(out.makespanS, done[i]);
    out.vms.push_back(std::move(vm));
  }
  return out;  // ~Hypervisor destroys the VMs
}

VmSample PolicyRunner::collect(hv::Hypervisor& hv, const RunRequest& r, unsigned index, uint32_t domid) {
  const std::string out = consoleOf(hv, domid);
  const std::string who = r.job->name + " " + r.setting.label() + " " + r.policy + " VM " + std::to_string(index);
  auto fail = [&](const std::string& why) { return GuestFailure(who + ": " + why + "\nconsole:\n" + out); };
  auto info = hv.domainInfo(domid);
  if (!info || info->shutdown_reason() != smartvm::v1::SHUTDOWN_REASON_POWEROFF)
    throw fail("did not power off cleanly");
  if (out.find("FAIL") != std::string::npos) throw fail("the guest reported FAIL");
  auto line = ResultLine::find(out);
  if (!line) throw fail("no RESULT par line");
  VmSample vm;
  vm.index = index;
  vm.domid = domid;
  try {
    line->fill(vm);
    const uint64_t layers = r.size.layersPerTask;
    const uint64_t callsPerTask = r.setting.vcpus * (layers + 2);  // begin, layer_done per layer, end
    if (line->num("vcpus") != r.setting.vcpus) throw fail("vcpus= is not " + std::to_string(r.setting.vcpus));
    if (line->num("layers") != layers) throw fail("layers= is not " + std::to_string(layers));
    if (line->num("tasks") != kParallelTasks) throw fail("tasks= is not " + std::to_string(kParallelTasks));
    if (line->num("serial") != kSerialTasks) throw fail("serial= is not " + std::to_string(kSerialTasks));
    if (line->num("hint_calls") != callsPerTask * kParallelTasks) throw fail("wrong hint_calls=");
    collectTasks(out, callsPerTask, vm, fail);
  } catch (const GuestFailure&) {
    throw;
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
  if (vm.hintRc != "0" && vm.hintRc != "-38") throw fail("hint_rc=" + vm.hintRc + " (want 0 or -38)");
  uint64_t taskSum = 0;
  for (uint64_t t : vm.taskNs) taskSum += t;
  if (vm.totalNs < vm.serialNs + vm.parallelNs || vm.parallelNs < taskSum) throw fail("inconsistent times");
  if (vm.workNs.size() != r.setting.vcpus) throw fail("work_ns= does not list every vCPU");
  if (std::string why = checker_.check(*r.job, r.size, vm); !why.empty()) throw fail("wrong answer: " + why);
  return vm;
}

}  // namespace smartvm::schedbench
