// smartvm-hv: the hypervisor daemon. Holds every domain; dom0 daemons drive it
// over the control socket. `--run KERNEL` boots one guest in the foreground.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <CLI/CLI.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/sched.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "smartvm/Log.h"
#include "smartvm/hv/ControlServer.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/LogRingSink.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

using namespace smartvm;
using namespace smartvm::hv;

namespace {

struct Options {
  std::string socket = "/run/smartvm/hv.sock";
  std::string logFile = "/var/log/smartvm/smartvm-hv.log";
  std::string logDir = "/var/log/smartvm";
  std::string logLevel = "info";
  std::string kvm = "/dev/kvm";
  std::string runKernel;
  uint64_t runMemory = 128;
  std::string runCmdline;
  uint32_t runVcpus = 1;
  unsigned runTimeout = 120;
  std::string sched = "credit";
  std::string pcpus;
  int64_t haltCheckUs = HypervisorOptions{}.haltCheckUs;
};

sigset_t terminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

void makeParentDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
}

// --run: one guest, its console on stdout, exit status from its shutdown reason.
int runOne(Hypervisor& hv, const Options& o) {
  v1::DomainConfig c;
  c.set_name("run-" + std::to_string(getpid()));
  c.set_memory_mib(o.runMemory);
  c.set_vcpus(o.runVcpus);
  c.set_kernel(std::filesystem::absolute(o.runKernel).string());
  c.set_cmdline(o.runCmdline);
  c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_reboot(v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
  auto info = hv.createDomain(c);
  if (!info) {
    std::cerr << "smartvm-hv: " << info.status().toString() << "\n";
    return 2;
  }
  auto console = hv.console(info->domid());
  uint64_t off = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.runTimeout);
  for (;;) {
    auto chunk = (*console)->read(off, 1 << 16, std::chrono::milliseconds(100));
    std::fwrite(chunk.data.data(), 1, chunk.data.size(), stdout);
    std::fflush(stdout);
    off = chunk.nextOffset;
    auto d = hv.find(info->domid());
    if (!d || (d->phase() == DomainPhase::Shutdown && off >= (*console)->endOffset())) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "smartvm-hv: guest still running after " << o.runTimeout << " s; destroying it\n";
      (void)hv.destroy(info->domid());
      return 3;
    }
  }
  auto d = hv.find(info->domid());
  const unsigned reason = d ? d->shutdownReason() : SHUTDOWN_crash;
  std::cerr << "smartvm-hv: guest shut down: " << (reason == SHUTDOWN_poweroff ? "poweroff" : reason == SHUTDOWN_crash ? "crash" : "other")
            << (d && !d->crashDetail().empty() ? " (" + d->crashDetail() + ")" : "") << "\n";
  return reason == SHUTDOWN_poweroff ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"smartvm-hv: the Smart-VM hypervisor daemon (Xen ABI guests on KVM)"};
  app.add_option("--control-socket", o.socket, "dom0 control socket (root only)")->capture_default_str();
  app.add_option("--log-file", o.logFile, "log file (also logs to stderr); empty for none")->capture_default_str();
  app.add_option("--log-dir", o.logDir, "directory for per-domain logs")->capture_default_str();
  app.add_option("--log-level", o.logLevel, "trace, debug, info, warn, error")->capture_default_str();
  app.add_option("--kvm", o.kvm, "KVM device")->capture_default_str();
  app.add_option("--sched", o.sched, "vCPU scheduler policy: credit, parallel, or none (host threads free-run)")
      ->capture_default_str();
  app.add_option("--pcpus", o.pcpus, "host cores for the scheduler's pCPUs, an xl CPU list (0-3,^2); default: all");
  app.add_option("--halt-check-us", o.haltCheckUs,
                 "while a vCPU waits for a pCPU, check that pCPU's vCPU this often for idling in hlt; 0 = off")
      ->capture_default_str();
  app.add_option("--run", o.runKernel, "boot this PVH kernel in the foreground, print its console, exit with its fate");
  app.add_option("--memory", o.runMemory, "--run: guest RAM in MiB")->capture_default_str();
  app.add_option("--cmdline", o.runCmdline, "--run: guest command line");
  app.add_option("--vcpus", o.runVcpus, "--run: vCPUs")->capture_default_str();
  app.add_option("--timeout", o.runTimeout, "--run: seconds before the guest is destroyed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const bool oneShot = !o.runKernel.empty();
  HypervisorOptions hvOpts;
  hvOpts.logDir = oneShot ? "" : o.logDir;
  hvOpts.schedPolicy = o.sched;
  hvOpts.pcpus = o.pcpus;
  hvOpts.haltCheckUs = o.haltCheckUs;
  if (Status s = Hypervisor::checkOptions(hvOpts); !s) {
    std::cerr << "smartvm-hv: " << s.message() << "\n";
    return 2;
  }
  if (Status s = initLogging({"smartvm-hv", oneShot ? "" : o.logFile, oneShot ? "warn" : o.logLevel}); !s) {
    std::cerr << "smartvm-hv: " << s.toString() << "\n";
    return 2;
  }
  auto ring = std::make_shared<LogRingSink>();
  spdlog::default_logger()->sinks().push_back(ring);
  if (!oneShot) {
    std::error_code ec;
    std::filesystem::create_directories(o.logDir, ec);
  }

  // Each domain holds KVM descriptors and each dom0 event channel port two
  // eventfds: the default soft limit of 1024 would cap a busy host early.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
  }

  // Termination signals are taken synchronously by main; every thread inherits the mask.
  const sigset_t term = terminationSignals();
  pthread_sigmask(SIG_BLOCK, &term, nullptr);

  auto platform = KvmPlatform::open(o.kvm);
  if (!platform) {
    spdlog::error("cannot use KVM: {}", platform.status().toString());
    return 2;
  }
  Hypervisor hv(**platform, hvOpts);
  if (oneShot) return runOne(hv, o);

  makeParentDir(o.socket);
  ControlServer control(hv, (*platform)->describe(), ring);
  if (Status s = control.start(o.socket); !s) {
    spdlog::error("{}", s.toString());
    return 2;
  }
  spdlog::info("smartvm-hv ready ({})", (*platform)->describe());
  int sig = 0;
  sigwait(&term, &sig);
  spdlog::info("signal {}: stopping; destroying all domains", sig);
  control.stop();
  return 0;  // ~Hypervisor destroys the domains
}
