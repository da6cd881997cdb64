// smartvm-bench: smartvm-hv measured side by side with raw KVM in one run.
// Reports medians and ratios; asserts nothing (exit 0 unless something broke,
// 77 when /dev/kvm is unusable). See tests/bench/README.md.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <CLI/CLI.hpp>
#include <malloc.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "RawKvm.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

using namespace smartvm;
using namespace smartvm::hv;
using smartvm::bench::RawVm;
using Json = nlohmann::json;

namespace {

constexpr uint64_t kGuestMib = 32;

struct Options {
  uint64_t iters = 20000;
  unsigned reps = 5;
  unsigned domains = 50;
  bool quick = false;
  std::string json;
  std::string guest = SMARTVM_GUEST_ELF;
};

// ---------------------------------------------------------------- statistics
double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double p90(std::vector<double> v) {  // nearest rank
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(v.size())));
  return v[std::max<size_t>(rank, 1) - 1];
}
int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline void cpuRelax() { __builtin_ia32_pause(); }

std::string fmt(double v, int prec = 1) {
  if (std::isnan(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}
std::string ratio(double a, double b) { return (std::isnan(a) || std::isnan(b) || b == 0) ? "-" : fmt(a / b, 2) + "x"; }

// ---------------------------------------------------------------- table
void printTable(const std::string& title, const std::vector<std::string>& head,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s = "|";
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string c = i < r.size() ? r[i] : "";
      s += " " + c + std::string(w[i] - c.size(), ' ') + " |";
    }
    std::cout << s << "\n";
  };
  std::cout << "\n## " << title << "\n";
  line(head);
  std::string sep = "|";
  for (size_t x : w) sep += std::string(x + 2, '-') + "|";
  std::cout << sep << "\n";
  for (const auto& r : rows) line(r);
  std::cout.flush();
}

// ---------------------------------------------------------------- smartvm helpers
v1::DomainConfig guestConfig(const Options& o, const std::string& name, const std::string& cmdline) {
  v1::DomainConfig c;
  c.set_name(name);
  c.set_memory_mib(kGuestMib);
  c.set_vcpus(1);
  c.set_kernel(o.guest);
  c.set_cmdline(cmdline);
  c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_reboot(v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
  return c;
}

uint32_t createOrThrow(Hypervisor& hv, const v1::DomainConfig& c) {
  auto info = hv.createDomain(c);
  if (!info) throw std::runtime_error("createDomain '" + c.name() + "': " + info.status().toString());
  return info->domid();
}

std::string consoleOf(Hypervisor& hv, uint32_t domid) {
  auto c = hv.console(domid);
  return c ? (*c)->snapshot() : std::string();
}

void waitShutdownOrThrow(Hypervisor& hv, uint32_t domid, const char* what) {
  if (Status s = hv.waitForShutdown(domid, std::chrono::seconds(120)); !s) {
    throw std::runtime_error(std::string(what) + ": domain did not shut down: " + s.toString() + "\nconsole:\n" +
                             consoleOf(hv, domid));
  }
}

struct HcResult {
  double hypercall = NAN, port = NAN;
};

HcResult smartvmHcbench(Hypervisor& hv, const Options& o, unsigned rep) {
  const uint32_t domid = createOrThrow(hv, guestConfig(o, "bench-hc-" + std::to_string(rep),
                                                       "workload=hcbench iters=" + std::to_string(o.iters)));
  waitShutdownOrThrow(hv, domid, "hcbench");
  const std::string out = consoleOf(hv, domid);
  (void)hv.destroy(domid);
  static const std::regex re(R"(RESULT hcbench iters=(\d+) hypercall_cycles=(\d+) port_cycles=(\d+))");
  std::smatch m;
  if (!std::regex_search(out, m, re)) throw std::runtime_error("hcbench: no RESULT line; console:\n" + out);
  return {std::stod(m[2].str()), std::stod(m[3].str())};
}

// Watches a domain that is about to be created, from another thread, and
// timestamps the first VM exit its counters show (polled tightly).
class FirstExitProbe {
 public:
  FirstExitProbe(Hypervisor& hv, uint32_t domid) : thread_([this, &hv, domid] { watch(hv, domid); }) {}
  ~FirstExitProbe() { stopAndJoin(); }
  void stopAndJoin() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  /// Waits (bounded) for the first exit and returns its time, or -1.
  int64_t wait(std::chrono::milliseconds limit) {
    const int64_t end = nowNs() + limit.count() * 1000000;
    while (firstExitNs_.load() < 0 && nowNs() < end) std::this_thread::sleep_for(std::chrono::microseconds(50));
    stopAndJoin();
    return firstExitNs_.load();
  }

 private:
  void watch(Hypervisor& hv, uint32_t domid) {
    std::shared_ptr<Domain> d;
    while (!stop_.load(std::memory_order_relaxed) && !(d = hv.find(domid)))
      for (int i = 0; i < 16; ++i) cpuRelax();
    if (!d) return;
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t n = 0;
      for (const auto& e : d->counters().exits) n += e.load(std::memory_order_relaxed);
      if (n) {
        firstExitNs_.store(nowNs());
        return;
      }
      cpuRelax();
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> firstExitNs_{-1};
  std::thread thread_;
};

struct CreateSample {
  double returnedMs = NAN;   ///< createDomain() returned
  double firstExitMs = NAN;  ///< first VM exit seen in the domain's counters
};

// Creates `count` domains one after another (each waits for the previous one
// to power off, so they do not compete for the CPUs) and keeps them until all
// are created. hcbench iters=1: boots, one hypercall, powers off.
std::vector<CreateSample> smartvmCreateSeries(Hypervisor& hv, const Options& o, unsigned count, const std::string& tag,
                                              uint32_t& nextDomid) {
  std::vector<CreateSample> out;
  std::vector<uint32_t> created;
  for (unsigned i = 0; i < count; ++i) {
    const auto cfg = guestConfig(o, "bench-" + tag + "-" + std::to_string(i), "workload=hcbench iters=1");
    CreateSample s;
    const uint32_t predicted = nextDomid;
    FirstExitProbe probe(hv, predicted);
    const int64_t t0 = nowNs();
    auto info = hv.createDomain(cfg);
    const int64_t t1 = nowNs();
    if (!info) throw std::runtime_error("createDomain: " + info.status().toString());
    const uint32_t domid = info->domid();
    nextDomid = domid + 1;
    created.push_back(domid);
    s.returnedMs = static_cast<double>(t1 - t0) / 1e6;
    if (domid == predicted) {
      const int64_t t2 = probe.wait(std::chrono::seconds(10));
      if (t2 > 0) s.firstExitMs = static_cast<double>(t2 - t0) / 1e6;
    }
    probe.stopAndJoin();
    waitShutdownOrThrow(hv, domid, "create series");
    out.push_back(s);
  }
  for (uint32_t d : created) (void)hv.destroy(d);
  return out;
}

std::vector<double> rawCreateSeries(unsigned count) {
  std::vector<double> ms;
  std::vector<std::unique_ptr<RawVm>> keep;
  for (unsigned i = 0; i < count; ++i) {
    const int64_t t0 = nowNs();
    auto vm = std::make_unique<RawVm>(RawVm::Entry::FirstExit, kGuestMib << 20);
    vm->runToFirstExit();
    ms.push_back(static_cast<double>(nowNs() - t0) / 1e6);
    keep.push_back(std::move(vm));
  }
  return ms;
}

// ---------------------------------------------------------------- memory
struct MemSnap {
  double rssKb = 0, anonKb = 0, fileKb = 0, shmemKb = 0;
  double pssKb = 0, pssShmemKb = 0;
  int threads = 0;
  double hvKb() const { return rssKb - shmemKb; }  // = RssAnon + RssFile
};

MemSnap readMem() {
  malloc_trim(0);  // freed heap memory of earlier phases should not hide or inflate deltas
  MemSnap m;
  std::ifstream st("/proc/self/status");
  for (std::string line; std::getline(st, line);) {
    std::istringstream is(line);
    std::string key;
    double v = 0;
    is >> key >> v;
    if (key == "VmRSS:") m.rssKb = v;
    else if (key == "RssAnon:") m.anonKb = v;
    else if (key == "RssFile:") m.fileKb = v;
    else if (key == "RssShmem:") m.shmemKb = v;
    else if (key == "Threads:") m.threads = static_cast<int>(v);
  }
  std::ifstream sm("/proc/self/smaps_rollup");
  for (std::string line; std::getline(sm, line);) {
    std::istringstream is(line);
    std::string key;
    double v = 0;
    is >> key >> v;
    if (key == "Pss:") m.pssKb = v;
    else if (key == "Pss_Shmem:") m.pssShmemKb = v;
  }
  return m;
}

struct MemResult {
  unsigned domains = 0;
  MemSnap before, after, afterDestroy;
  double hvMibPerDomain() const { return (after.hvKb() - before.hvKb()) / 1024.0 / domains; }
  double anonMibPerDomain() const { return (after.anonKb - before.anonKb) / 1024.0 / domains; }
  double fileMibPerDomain() const { return (after.fileKb - before.fileKb) / 1024.0 / domains; }
  double pssNoShmemMibPerDomain() const {
    return ((after.pssKb - after.pssShmemKb) - (before.pssKb - before.pssShmemKb)) / 1024.0 / domains;
  }
  double shmemMibPerDomain() const { return (after.shmemKb - before.shmemKb) / 1024.0 / domains; }
  double threadsPerDomain() const { return static_cast<double>(after.threads - before.threads) / domains; }
};

MemResult memorySeries(Hypervisor& hv, const Options& o, unsigned count, const std::string& tag) {
  MemResult r;
  r.domains = count;
  r.before = readMem();
  std::vector<uint32_t> ids;
  for (unsigned i = 0; i < count; ++i)
    ids.push_back(createOrThrow(hv, guestConfig(o, "bench-" + tag + "-" + std::to_string(i), "workload=idle")));
  // Idle = booted, printed "RESULT idle", now yielding: the steady state.
  const int64_t end = nowNs() + 60'000'000'000LL;
  for (uint32_t id : ids) {
    while (consoleOf(hv, id).find("RESULT idle") == std::string::npos) {
      if (nowNs() > end) throw std::runtime_error("idle guest " + std::to_string(id) + " did not come up:\n" + consoleOf(hv, id));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  r.after = readMem();
  for (uint32_t id : ids) (void)hv.destroy(id);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  r.afterDestroy = readMem();
  return r;
}

// ---------------------------------------------------------------- main
int run(const Options& o) {
  if (std::string why = kvmUnavailableReason(); !why.empty()) {
    std::cout << "SKIP: smartvm-bench needs /dev/kvm: " << why << "\n";
    return 77;
  }
  if (!std::filesystem::exists(o.guest)) {
    std::cerr << "smartvm-bench: guest kernel not found: " << o.guest << " (build target smartvm_guest)\n";
    return 2;
  }
  auto platform = KvmPlatform::open();
  if (!platform) {
    std::cout << "SKIP: cannot use KVM: " << platform.status().toString() << "\n";
    return 77;
  }
  Hypervisor hv(**platform, {});
  Json js;
  js["config"] = {{"iters", o.iters}, {"reps", o.reps}, {"domains", o.domains}, {"quick", o.quick},
                  {"guest_mib", kGuestMib}, {"platform", (*platform)->describe()}};
  std::cout << "smartvm-bench: iters=" << o.iters << " reps=" << o.reps << " domains=" << o.domains
            << (o.quick ? " (quick)" : "") << "\nplatform: " << (*platform)->describe() << "\n";

  // ---- 3. memory per idle domain: measured first, while the process is fresh, so that
  // glibc's cache of freed thread stacks and heap left by earlier phases cannot hide costs.
  // The 1-domain figure therefore includes one-time costs of the first domain.
  auto m1 = memorySeries(hv, o, 1, "mem1");
  auto mN = memorySeries(hv, o, o.domains, "memn");

  // ---- 1. exit round trips, CPL0 64-bit on both sides
  std::vector<double> rawOut, rawStub, rawHcLoop, rawSyncOut, rawSyncStub, hvHc, hvPort;
  {
    RawVm vm(RawVm::Entry::Loops, kGuestMib << 20, o.iters);
    (void)vm.runLoops(false);  // warm-up
    for (unsigned r = 0; r < o.reps; ++r) {  // interleaved, so drift hits both sides alike
      auto a = vm.runLoops(false);
      rawOut.push_back(a.out);
      rawStub.push_back(a.stub);
      rawHcLoop.push_back(a.hcLoop);
      auto b = vm.runLoops(true);
      rawSyncOut.push_back(b.out);
      rawSyncStub.push_back(b.stub);
      auto h = smartvmHcbench(hv, o, r);
      hvHc.push_back(h.hypercall);
      hvPort.push_back(h.port);
    }
  }
  const double mRawOut = median(rawOut), mRawStub = median(rawStub), mRawHcLoop = median(rawHcLoop), mSyncOut = median(rawSyncOut),
               mSyncStub = median(rawSyncStub), mHc = median(hvHc), mPort = median(hvPort);
  printTable("1. Exit round trip, CPL0 64-bit guest (TSC cycles per op, median of " + std::to_string(o.reps) +
                 " x " + std::to_string(o.iters) + ")",
             {"operation", "cycles/op", "min", "max"},
             {{"raw KVM: out %al,$0x80", fmt(mRawOut), fmt(*std::min_element(rawOut.begin(), rawOut.end())),
               fmt(*std::max_element(rawOut.begin(), rawOut.end()))},
              {"raw KVM: call stub (mov $17,%eax; out %eax,$0xe4; ret)", fmt(mRawStub),
               fmt(*std::min_element(rawStub.begin(), rawStub.end())), fmt(*std::max_element(rawStub.begin(), rawStub.end()))},
              {"raw KVM: call stub in hcbench's exact loop (10 insns/iter)", fmt(mRawHcLoop),
               fmt(*std::min_element(rawHcLoop.begin(), rawHcLoop.end())),
               fmt(*std::max_element(rawHcLoop.begin(), rawHcLoop.end()))},
              {"raw KVM + SYNC_REGS(REGS|SREGS): out", fmt(mSyncOut), fmt(*std::min_element(rawSyncOut.begin(), rawSyncOut.end())),
               fmt(*std::max_element(rawSyncOut.begin(), rawSyncOut.end()))},
              {"raw KVM + SYNC_REGS(REGS|SREGS): call stub", fmt(mSyncStub),
               fmt(*std::min_element(rawSyncStub.begin(), rawSyncStub.end())),
               fmt(*std::max_element(rawSyncStub.begin(), rawSyncStub.end()))},
              {"smartvm-hv: outb to port 0x80 (no-op exit)", fmt(mPort), fmt(*std::min_element(hvPort.begin(), hvPort.end())),
               fmt(*std::max_element(hvPort.begin(), hvPort.end()))},
              {"smartvm-hv: null hypercall (xen_version)", fmt(mHc), fmt(*std::min_element(hvHc.begin(), hvHc.end())),
               fmt(*std::max_element(hvHc.begin(), hvHc.end()))}});
  printTable("1b. Ratios (medians)", {"ratio", "value", "goal"},
             {{"smartvm hypercall / raw call stub", ratio(mHc, mRawStub), "<= 1.20x"},
              {"smartvm hypercall / raw call stub in hcbench's loop", ratio(mHc, mRawHcLoop), "(like for like)"},
              {"smartvm hypercall / raw call stub + SYNC_REGS", ratio(mHc, mSyncStub), ""},
              {"smartvm hypercall / raw out", ratio(mHc, mRawOut), ""},
              {"smartvm port 0x80 / raw out", ratio(mPort, mRawOut), ""},
              {"raw SYNC_REGS out / raw out (cost of syncing regs)", ratio(mSyncOut, mRawOut), ""},
              {"raw call stub / raw out (emulated call+mov+ret)", ratio(mRawStub, mRawOut), ""}});
  js["exit_round_trip_cycles"] = {{"raw_out", rawOut}, {"raw_call_stub", rawStub}, {"raw_hcbench_loop", rawHcLoop}, {"raw_sync_regs_out", rawSyncOut},
                                  {"raw_sync_regs_call_stub", rawSyncStub}, {"smartvm_port80", hvPort},
                                  {"smartvm_hypercall", hvHc},
                                  {"median", {{"raw_out", mRawOut}, {"raw_call_stub", mRawStub}, {"raw_hcbench_loop", mRawHcLoop},
                                              {"raw_sync_regs_out", mSyncOut}, {"raw_sync_regs_call_stub", mSyncStub},
                                              {"smartvm_port80", mPort}, {"smartvm_hypercall", mHc}}}};

  // ---- 2. create to first exit
  uint32_t nextDomid = 0;
  {  // learn the next domid the way a client would: create one, note its id
    const uint32_t id = createOrThrow(hv, guestConfig(o, "bench-domid-probe", "workload=hcbench iters=1"));
    waitShutdownOrThrow(hv, id, "domid probe");
    (void)hv.destroy(id);
    nextDomid = id + 1;
  }
  std::vector<CreateSample> one;
  std::vector<double> rawOne;
  for (unsigned r = 0; r < o.reps; ++r) {
    auto s = smartvmCreateSeries(hv, o, 1, "one" + std::to_string(r), nextDomid);
    one.push_back(s[0]);
    rawOne.push_back(rawCreateSeries(1)[0]);
  }
  auto many = smartvmCreateSeries(hv, o, o.domains, "many", nextDomid);
  auto rawMany = rawCreateSeries(o.domains);
  auto col = [](const std::vector<CreateSample>& v, bool first) {
    std::vector<double> out;
    for (const auto& s : v) {
      const double x = first ? s.firstExitMs : s.returnedMs;
      if (!std::isnan(x)) out.push_back(x);
    }
    return out;
  };
  const double oneFirstMed = median(col(one, true)), oneFirstP90 = p90(col(one, true));
  const double manyFirstMed = median(col(many, true)), manyFirstP90 = p90(col(many, true));
  const std::string nMany = std::to_string(o.domains);
  printTable("2. createDomain() to first guest exit (ms; first exit = the guest's first port/MSR exit, an upper bound "
             "on its first instruction)",
             {"series", "smartvm first exit median", "p90", "smartvm createDomain() returned median", "p90",
              "raw KVM first exit median", "p90", "goal"},
             {{"1 domain (x" + std::to_string(o.reps) + ")", fmt(oneFirstMed, 3), fmt(oneFirstP90, 3),
               fmt(median(col(one, false)), 3), fmt(p90(col(one, false)), 3), fmt(median(rawOne), 3),
               fmt(p90(rawOne), 3), "< 10 ms"},
              {nMany + " domains in a row", fmt(manyFirstMed, 3), fmt(manyFirstP90, 3), fmt(median(col(many, false)), 3),
               fmt(p90(col(many, false)), 3), fmt(median(rawMany), 3), fmt(p90(rawMany), 3), "< 10 ms"}});
  if (col(many, true).size() != many.size() || col(one, true).size() != one.size())
    std::cout << "note: some first exits were not observed (domid prediction or 10 s limit); they are left out\n";
  auto samplesJson = [](const std::vector<CreateSample>& v) {
    Json a = Json::array();
    for (const auto& s : v) a.push_back({{"returned_ms", s.returnedMs}, {"first_exit_ms", s.firstExitMs}});
    return a;
  };
  js["create_to_first_exit_ms"] = {
      {"smartvm_1", samplesJson(one)}, {"smartvm_n", samplesJson(many)}, {"raw_1", rawOne}, {"raw_n", rawMany},
      {"summary", {{"smartvm_1_median", oneFirstMed}, {"smartvm_1_p90", oneFirstP90}, {"smartvm_n_median", manyFirstMed},
                   {"smartvm_n_p90", manyFirstP90}, {"raw_1_median", median(rawOne)}, {"raw_n_median", median(rawMany)},
                   {"raw_n_p90", p90(rawMany)}}}};

  // ---- 3. memory per idle domain (measured first, above)
  auto memRow = [](const std::string& name, const MemResult& m) {
    return std::vector<std::string>{name,
                                    fmt(m.hvMibPerDomain(), 3),
                                    fmt(m.anonMibPerDomain(), 3),
                                    fmt(m.fileMibPerDomain(), 3),
                                    fmt(m.pssNoShmemMibPerDomain(), 3),
                                    fmt(m.shmemMibPerDomain(), 3),
                                    fmt(m.threadsPerDomain(), 1),
                                    fmt((m.afterDestroy.hvKb() - m.before.hvKb()) / 1024.0, 3),
                                    "< 2 MiB"};
  };
  printTable("3. smartvm-hv memory per idle domain (" + std::to_string(kGuestMib) +
                 " MiB guests; MiB per domain; guest RAM excluded)",
             {"series", "RSS-RssShmem", "RssAnon", "RssFile", "PSS-Pss_Shmem", "guest RAM touched (RssShmem)",
              "threads", "RSS-RssShmem left after destroy (MiB total)", "goal"},
             {memRow("1 domain (first in process)", m1), memRow(nMany + " domains", mN)});
  std::cout << "RSS-RssShmem = VmRSS minus RssShmem from /proc/self/status, after minus before, per domain: guest RAM is\n"
               "a memfd mapped MAP_SHARED, so its touched pages are RssShmem and are subtracted. What is left is\n"
               "heap, thread stacks and file/driver pages (kvm_run) of this process. Kernel memory (KVM's VM and vCPU\n"
               "structures, EPT/shadow page tables, memfd page cache itself) is not visible here.\n";
  auto memJson = [](const MemResult& m) {
    auto snap = [](const MemSnap& s) {
      return Json{{"rss_kb", s.rssKb}, {"anon_kb", s.anonKb}, {"file_kb", s.fileKb}, {"shmem_kb", s.shmemKb},
                  {"pss_kb", s.pssKb}, {"pss_shmem_kb", s.pssShmemKb}, {"threads", s.threads}};
    };
    return Json{{"domains", m.domains}, {"hv_mib_per_domain", m.hvMibPerDomain()},
                {"shmem_mib_per_domain", m.shmemMibPerDomain()}, {"threads_per_domain", m.threadsPerDomain()},
                {"before", snap(m.before)}, {"after", snap(m.after)}, {"after_destroy", snap(m.afterDestroy)}};
  };
  js["memory"] = {{"one", memJson(m1)}, {"n", memJson(mN)}};

  // ---- summary
  auto met = [](bool ok) { return std::string(ok ? "yes" : "NO"); };
  const double hcRatio = mHc / mRawStub;
  printTable("Summary", {"measure", "smartvm", "baseline", "ratio", "goal", "met?"},
             {{"null hypercall (cycles)", fmt(mHc), fmt(mRawStub) + " raw call stub", ratio(mHc, mRawStub), "<= 1.2x",
               met(hcRatio <= 1.2)},
              {"null hypercall vs same guest loop (cycles)", fmt(mHc), fmt(mRawHcLoop) + " raw hcbench loop",
               ratio(mHc, mRawHcLoop), "<= 1.2x", met(mHc / mRawHcLoop <= 1.2)},
              {"port 0x80 exit (cycles)", fmt(mPort), fmt(mRawOut) + " raw out", ratio(mPort, mRawOut), "-", "-"},
              {"create -> first exit, 1 domain, median (ms)", fmt(oneFirstMed, 3), fmt(median(rawOne), 3) + " raw",
               ratio(oneFirstMed, median(rawOne)), "< 10 ms", met(oneFirstMed < 10)},
              {"create -> first exit, " + nMany + " domains, median (ms)", fmt(manyFirstMed, 3),
               fmt(median(rawMany), 3) + " raw", ratio(manyFirstMed, median(rawMany)), "< 10 ms", met(manyFirstMed < 10)},
              {"create -> first exit, " + nMany + " domains, p90 (ms)", fmt(manyFirstP90, 3),
               fmt(p90(rawMany), 3) + " raw", ratio(manyFirstP90, p90(rawMany)), "< 10 ms", met(manyFirstP90 < 10)},
              {"memory per domain, 1 idle (MiB)", fmt(m1.hvMibPerDomain(), 3), "-", "-", "< 2 MiB",
               met(m1.hvMibPerDomain() < 2)},
              {"memory per domain, " + nMany + " idle (MiB)", fmt(mN.hvMibPerDomain(), 3), "-", "-", "< 2 MiB",
               met(mN.hvMibPerDomain() < 2)}});
  js["summary"] = {{"hypercall_over_raw_stub", hcRatio}, {"hypercall_goal_met", hcRatio <= 1.2},
                   {"create_1_median_ms", oneFirstMed}, {"create_n_median_ms", manyFirstMed},
                   {"create_n_p90_ms", manyFirstP90}, {"mem_1_mib_per_domain", m1.hvMibPerDomain()},
                   {"mem_n_mib_per_domain", mN.hvMibPerDomain()}};

  if (!o.json.empty()) {
    std::ofstream f(o.json);
    f << js.dump(2) << "\n";
    if (!f) {
      std::cerr << "smartvm-bench: cannot write " << o.json << "\n";
      return 2;
    }
    std::cout << "\nwrote " << o.json << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "smartvm-bench: smartvm-hv measured side by side with raw KVM in one run (needs /dev/kvm, usually root).\n"
      "1) null hypercall and port-0x80 exit vs a raw-KVM guest doing the same at CPL0 in 64-bit mode;\n"
      "2) createDomain() to the guest's first exit for 1 and N domains vs a raw KVM VM;\n"
      "3) smartvm-hv's own memory per idle domain (guest RAM excluded).\n"
      "Prints tables of medians and ratios against the goals; asserts nothing. Exit 77 = skipped (no KVM)."};
  app.add_option("--iters", o.iters, "operations per timed loop")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--reps", o.reps, "repetitions per measurement (medians are reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--domains", o.domains, "domains for the 'many' create and memory series")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app.add_flag("--quick", o.quick, "small run for smoke tests: --iters 1000 --reps 3 --domains 5 unless given");
  app.add_option("--json", o.json, "also write all numbers to this JSON file");
  app.add_option("--guest", o.guest, "PVH guest kernel (smartvm-guest.elf)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    if (app.count("--iters") == 0) o.iters = 1000;
    if (app.count("--reps") == 0) o.reps = 3;
    if (app.count("--domains") == 0) o.domains = 5;
  }
  o.guest = std::filesystem::absolute(o.guest).string();
  spdlog::set_level(spdlog::level::warn);  // domain create/destroy chatter would drown the tables
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "smartvm-bench: " << e.what() << "\n";
    return 1;
  }
}
