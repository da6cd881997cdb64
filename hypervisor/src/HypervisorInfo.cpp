// Listing domains (with the control domain as domid 0) and describing the host.
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/XenCpuid.h"

namespace smartvm::hv {
namespace {

// Busy CPU time of the whole host (user + nice + system), which is dom0's.
uint64_t hostBusyNs() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0;
  in >> cpu >> user >> nice >> system;
  const long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? (user + nice + system) * (1000000000ull / static_cast<uint64_t>(hz)) : 0;
}

}  // namespace

smartvm::v1::DomainInfo controlDomainInfo() {
  struct sysinfo si {};
  sysinfo(&si);
  smartvm::v1::DomainInfo d;
  d.set_domid(0);
  d.set_name("Domain-0");
  d.set_state(smartvm::v1::DOMAIN_STATE_RUNNING);
  d.set_memory_mib(static_cast<uint64_t>(si.totalram) * si.mem_unit >> 20);
  d.set_vcpus(std::thread::hardware_concurrency());
  d.set_cpu_time_ns(hostBusyNs());
  return d;
}

std::vector<smartvm::v1::DomainInfo> Hypervisor::listDomains() {
  std::vector<std::shared_ptr<Domain>> ds;
  {
    std::lock_guard lk(m_);
    for (const auto& [id, d] : domains_) ds.push_back(d);
  }
  std::vector<smartvm::v1::DomainInfo> out{controlDomainInfo()};
  for (const auto& d : ds) out.push_back(d->info());
  return out;
}

smartvm::v1::HostInfo Hypervisor::hostInfo(const std::string& platformInfo) {
  smartvm::v1::HostInfo h;
  utsname u{};
  uname(&u);
  struct sysinfo si {};
  sysinfo(&si);
  h.set_hostname(u.nodename);
  h.set_release(u.release);
  h.set_nr_cpus(std::thread::hardware_concurrency());
  h.set_total_memory_mib(static_cast<uint64_t>(si.totalram) * si.mem_unit >> 20);
  h.set_free_memory_mib(hostAvailableMemory() >> 20);
  h.set_xen_version(std::to_string(kXenMajor) + "." + std::to_string(kXenMinor));
  h.set_xen_extra(kXenExtraVersion);
  h.set_xen_caps(kXenCapabilities);
  h.set_hv_version(kHvVersion);
  {
    std::lock_guard lk(m_);
    h.set_nr_domains(static_cast<uint32_t>(domains_.size() + 1));
  }
  h.set_uptime_s((monotonicNs() - startNs_) / 1000000000ull);
  h.set_kvm_info(platformInfo);
  return h;
}

}  // namespace smartvm::hv
