// smartvm-bench: smartvm-hv measured side by side with raw KVM in one run.
// Reports medians and ratios; asserts nothing (exit 0 unless something broke,
// 77 when /dev/kvm is unusable). See tests/bench/README.md.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <CLI/CLI.hpp>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
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
#include "smartvm/dom0/evtchn/EventChannelClient.h"
#include "smartvm/hv/ControlServer.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

using namespace smartvm;
using namespace smartvm::hv;
using smartvm::bench::RawEventVm;
using smartvm::bench::RawVm;
using smartvm::dom0::EventChannelClient;
using Json = nlohmann::json;

namespace {

// A fresh guest's lowest free event channel port: 1 and 2 are its xenstore and
// console ports, allocated at build as xl does (docs/guest-abi.md).
constexpr uint32_t kGuestPort = 3;
const std::string kGuestPortArg = std::to_string(kGuestPort);

constexpr uint64_t kGuestMib = 32;

struct Options {
  uint64_t iters = 20000;
  unsigned reps = 5;
  unsigned domains = 50;
  bool quick = false;
  uint64_t eventRounds = 2000;  ///< round trips per event ping-pong pass
  unsigned eventReps = 3;
  unsigned floodSeconds = 2;
  bool eventsOnly = false;
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

// ---------------------------------------------------------------- 4. event channels
// A numeric field of the first "RESULT <what> ..." line, or throws.
uint64_t resultField(const std::string& out, const std::string& what, const std::string& key) {
  const size_t at = out.find("RESULT " + what + " ");
  if (at == std::string::npos) throw std::runtime_error("no 'RESULT " + what + "' line; console:\n" + out);
  const std::string line = out.substr(at, out.find('\n', at) - at);
  const std::regex re("[ ]" + key + "=(\\d+)");
  std::smatch m;
  if (!std::regex_search(line, m, re)) throw std::runtime_error("no " + key + "= in: " + line);
  return std::stoull(m[1].str());
}

void expectField(const std::string& out, const std::string& what, const std::string& key, uint64_t want) {
  const uint64_t got = resultField(out, what, key);
  if (got != want)
    throw std::runtime_error("RESULT " + what + ": " + key + "=" + std::to_string(got) + ", want " + std::to_string(want) +
                             "; console:\n" + out);
}

void waitConsoleOrThrow(Hypervisor& hv, uint32_t domid, const std::string& what) {
  const int64_t end = nowNs() + 30'000'000'000LL;
  while (consoleOf(hv, domid).find(what) == std::string::npos) {
    if (nowNs() > end) throw std::runtime_error("no '" + what + "' from domain " + std::to_string(domid) + ":\n" + consoleOf(hv, domid));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

v1::DomainConfig pausedConfig(const Options& o, const std::string& name, const std::string& cmdline) {
  v1::DomainConfig c = guestConfig(o, name, cmdline);
  c.set_start_paused(true);
  return c;
}

/// Counts what arrives on a notify eventfd from another thread, as a dom0
/// backend would: poll + read, the way EventChannelClient::wait does.
class EventfdReader {
 public:
  explicit EventfdReader(int fd) : fd_(fd), thread_([this] { loop(); }) {}
  ~EventfdReader() { stopAndJoin(); }
  void stopAndJoin() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  uint64_t received() const { return received_.load(); }
  uint64_t wakeups() const { return wakeups_.load(); }
  /// Seconds between the first and the last event read.
  double spanSeconds() const { return static_cast<double>(lastNs_.load() - firstNs_.load()) / 1e9; }

 private:
  void loop() {
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      uint64_t n = 0;
      if (::read(fd_, &n, sizeof n) != static_cast<ssize_t>(sizeof n) || n == 0) continue;
      const int64_t t = nowNs();
      if (firstNs_.load() == 0) firstNs_.store(t);
      lastNs_.store(t);
      received_ += n;
      ++wakeups_;
    }
  }
  int fd_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0}, wakeups_{0};
  std::atomic<int64_t> firstNs_{0}, lastNs_{0};
  std::thread thread_;
};

/// dom0 for the event benchmarks: a ControlServer on a temporary socket and an
/// EventChannelClient on it, the same path a dom0 backend process uses.
class Dom0Peer {
 public:
  explicit Dom0Peer(Hypervisor& hv) : server_(hv, "bench", nullptr) {
    if (!mkdtemp(dir_)) throw std::runtime_error("mkdtemp failed");
    path_ = std::string(dir_) + "/hv.sock";
    if (Status s = server_.start(path_); !s) throw std::runtime_error("control server: " + s.toString());
    auto c = EventChannelClient::connect(path_);
    if (!c) throw std::runtime_error("EventChannelClient::connect: " + c.status().toString());
    client_ = std::make_unique<EventChannelClient>(std::move(c).value());
  }
  ~Dom0Peer() {
    client_.reset();
    server_.stop();
    ::unlink(path_.c_str());
    ::rmdir(dir_);
  }
  EventChannelClient& client() { return *client_; }

  /// Port kGuestPort of a fresh paused guest offered to dom0, and dom0's end bound to
  /// it with the pending event of the new binding taken.
  EventChannelClient::Port connect(uint32_t domid, bool bind = true) {
    auto gp = client_->allocUnbound(domid, 0);
    if (!gp) throw std::runtime_error("allocUnbound: " + gp.status().toString());
    if (gp->port != kGuestPort) {
      throw std::runtime_error("allocUnbound gave port " + std::to_string(gp->port) + ", want " + kGuestPortArg);
    }
    if (!bind) return {};
    return bindTo(domid);
  }
  EventChannelClient::Port bindTo(uint32_t domid) {
    auto b = client_->bindInterdomain(domid, kGuestPort);
    if (!b) throw std::runtime_error("bindInterdomain: " + b.status().toString());
    (void)EventChannelClient::takePending(b->notify.get());
    return std::move(b).value();
  }

 private:
  ControlServer server_;
  char dir_[40] = "/tmp/smartvm-bench-XXXXXX";
  std::string path_;
  std::unique_ptr<EventChannelClient> client_;
};

struct RoundTrip {
  double cycles = NAN;  ///< TSC cycles per round (guest-measured)
  double us = NAN;      ///< microseconds per round
  double exits = NAN;   ///< VM exits to user space per round, both sides (boot included)
  double hypercalls = NAN;  ///< hypercalls per round, both sides (boot included)
  double hvUs = NAN;        ///< smartvm-hv's user-space exit handling per round, both sides (boot included)
};

/// A domain's DomainCounters::exitHandlingNs.
uint64_t exitHandlingNs(Hypervisor& hv, uint32_t domid) {
  auto d = hv.find(domid);
  return d ? d->counters().exitHandlingNs.load() : 0;
}

/// Sums a domain's exit and hypercall counters.
std::pair<uint64_t, uint64_t> exitsAndHypercalls(Hypervisor& hv, uint32_t domid) {
  auto i = hv.domainInfo(domid);
  if (!i) return {0, 0};
  uint64_t e = 0, h = 0;
  for (const auto& [k, n] : i->exit_counts()) e += n;
  for (const auto& [k, n] : i->hypercall_counts()) h += n;
  return {e, h};
}

/// smartvm: ping and pong guests, `rounds` round trips over an interdomain
/// channel dom0 set up; the ping's RESULT line. `extra`: more guest options.
RoundTrip smartvmGuestPingPong(Hypervisor& hv, const Options& o, const std::string& tag, const std::string& extra = "") {
  const std::string r = std::to_string(o.eventRounds) + extra;
  const uint32_t pong =
      createOrThrow(hv, pausedConfig(o, "bench-pong-" + tag, "workload=pingpong role=pong port=" + kGuestPortArg + " count=" + r));
  const uint32_t ping = createOrThrow(hv, pausedConfig(o, "bench-ping-" + tag,
                                                       "workload=pingpong role=ping peer=" + std::to_string(pong) +
                                                           " port=" + kGuestPortArg + " count=" + r));
  evtchn_alloc_unbound op{};
  op.dom = static_cast<domid_t>(pong);
  op.remote_dom = static_cast<domid_t>(ping);
  if (int64_t rc = hv.eventChannels().allocUnbound(0, op); rc != 0 || op.port != kGuestPort)
    throw std::runtime_error("alloc_unbound for the pong: rc=" + std::to_string(rc) + " port=" + std::to_string(op.port));
  (void)hv.unpause(pong);
  (void)hv.unpause(ping);
  waitShutdownOrThrow(hv, ping, "pingpong ping");
  waitShutdownOrThrow(hv, pong, "pingpong pong");
  const std::string pingOut = consoleOf(hv, ping), pongOut = consoleOf(hv, pong);
  expectField(pingOut, "pingpong role=ping", "rounds", o.eventRounds);
  expectField(pingOut, "pingpong role=ping", "lost", 0);
  expectField(pingOut, "pingpong role=ping", "dup", 0);
  expectField(pongOut, "pingpong role=pong", "events", o.eventRounds);
  const auto [e1, h1] = exitsAndHypercalls(hv, ping);
  const auto [e2, h2] = exitsAndHypercalls(hv, pong);
  const double n = static_cast<double>(o.eventRounds);
  RoundTrip t{static_cast<double>(resultField(pingOut, "pingpong role=ping", "cycles_per_round")),
              static_cast<double>(resultField(pingOut, "pingpong role=ping", "ns_per_round")) / 1e3,
              static_cast<double>(e1 + e2) / n, static_cast<double>(h1 + h2) / n,
              static_cast<double>(exitHandlingNs(hv, ping) + exitHandlingNs(hv, pong)) / n / 1e3};
  (void)hv.destroy(ping);
  (void)hv.destroy(pong);
  return t;
}

/// raw KVM: two VMs whose vCPU threads turn each `out` into KVM_SIGNAL_MSI to the other.
RoundTrip rawGuestPingPong(const Options& o) {
  RawEventVm ping(RawEventVm::Role::Ping, o.eventRounds, kGuestMib << 20);
  RawEventVm pong(RawEventVm::Role::Pong, 0, kGuestMib << 20);  // destroyed first: it signals ping
  pong.start([&] { ping.signal(); });
  ping.start([&] { pong.signal(); });
  const double cycles = static_cast<double>(ping.pass()) / static_cast<double>(o.eventRounds);
  const double khz = ping.tscKhz();
  return {cycles, khz > 0 ? cycles / khz * 1e3 : NAN, 2, 0, NAN};  // one `out` exit per side
}

/// smartvm: a pong guest; dom0 rings its doorbell and waits on its eventfd, per round (us).
std::vector<double> smartvmDom0PingPong(Hypervisor& hv, Dom0Peer& dom0, const Options& o, unsigned rep,
                                        const std::string& extra = "") {
  const uint32_t id = createOrThrow(hv, pausedConfig(o, "bench-dom0pong-" + std::to_string(rep) + (extra.empty() ? "" : "-x"),
                                                     "workload=pingpong role=pong port=" + kGuestPortArg + " count=" +
                                                         std::to_string(o.eventRounds) + extra));
  (void)dom0.connect(id, false);
  (void)hv.unpause(id);
  waitConsoleOrThrow(hv, id, "pingpong ready role=pong port=" + kGuestPortArg);
  auto port = dom0.bindTo(id);
  std::vector<double> us;
  us.reserve(o.eventRounds);
  for (uint64_t r = 0; r < o.eventRounds; ++r) {
    const int64_t t0 = nowNs();
    if (Status s = EventChannelClient::ring(port.doorbell.get()); !s) throw std::runtime_error("ring: " + s.toString());
    auto got = EventChannelClient::wait(port.notify.get(), std::chrono::seconds(5));
    if (!got) throw std::runtime_error("dom0 ping-pong round " + std::to_string(r) + ": " + got.status().toString());
    us.push_back(static_cast<double>(nowNs() - t0) / 1e3);
  }
  waitShutdownOrThrow(hv, id, "dom0 pingpong");
  expectField(consoleOf(hv, id), "pingpong role=pong", "events", o.eventRounds);
  (void)dom0.client().close(port.port);
  (void)hv.destroy(id);
  return us;
}

/// raw KVM: the host thread sends KVM_SIGNAL_MSI and waits (poll + read) on an
/// eventfd the vCPU thread writes at the guest's answering `out`, per round (us).
std::vector<double> rawDom0PingPong(const Options& o) {
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) throw std::runtime_error("eventfd failed");
  std::vector<double> us;
  us.reserve(o.eventRounds);
  {
    RawEventVm pong(RawEventVm::Role::Pong, 0, kGuestMib << 20);
    pong.start([efd] {
      const uint64_t one = 1;
      (void)!::write(efd, &one, sizeof one);
    });
    for (uint64_t r = 0; r < o.eventRounds; ++r) {
      const int64_t t0 = nowNs();
      pong.signal();
      pollfd p{efd, POLLIN, 0};
      uint64_t n = 0;
      if (::poll(&p, 1, 5000) != 1 || ::read(efd, &n, sizeof n) != static_cast<ssize_t>(sizeof n))
        throw std::runtime_error("raw host ping-pong: no answer in round " + std::to_string(r));
      us.push_back(static_cast<double>(nowNs() - t0) / 1e3);
    }
  }
  ::close(efd);
  return us;
}

struct Flood {
  double sendsPerSec = NAN;     ///< guest-side sends / flood seconds
  double receivedPerSec = NAN;  ///< events dom0 read / seconds between its first and last read
  double wakeupsPerSec = NAN;   ///< dom0 eventfd reads that returned events, per second
  uint64_t sends = 0, received = 0;
};

/// smartvm: `flood port=3 seconds=S` to a dom0 port, dom0 reading its eventfd.
Flood smartvmFlood(Hypervisor& hv, Dom0Peer& dom0, const Options& o, unsigned rep) {
  const uint32_t id = createOrThrow(hv, pausedConfig(o, "bench-flood-" + std::to_string(rep),
                                                     "workload=flood port=" + kGuestPortArg + " seconds=" + std::to_string(o.floodSeconds)));
  auto port = dom0.connect(id);
  Flood f;
  {
    EventfdReader reader(port.notify.get());
    (void)hv.unpause(id);
    waitShutdownOrThrow(hv, id, "flood");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reader.stopAndJoin();
    f.received = reader.received();
    f.receivedPerSec = static_cast<double>(reader.received()) / reader.spanSeconds();
    f.wakeupsPerSec = static_cast<double>(reader.wakeups()) / reader.spanSeconds();
  }
  const std::string out = consoleOf(hv, id);
  expectField(out, "flood", "errors", 0);
  f.sends = resultField(out, "flood", "sends");
  f.sendsPerSec = static_cast<double>(f.sends) / o.floodSeconds;
  (void)dom0.client().close(port.port);
  (void)hv.destroy(id);
  return f;
}

/// raw KVM: the guest sends (`out`) until an rdtsc deadline; the vCPU thread
/// writes an eventfd per send, which a reader thread drains.
Flood rawFlood(const Options& o) {
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) throw std::runtime_error("eventfd failed");
  Flood f;
  {
    RawEventVm vm(RawEventVm::Role::Flood, 0, kGuestMib << 20);
    if (vm.tscKhz() == 0) throw std::runtime_error("raw flood: KVM_GET_TSC_KHZ failed");
    vm.setArg(static_cast<uint64_t>(o.floodSeconds) * vm.tscKhz() * 1000);
    vm.start([efd] {
      const uint64_t one = 1;
      (void)!::write(efd, &one, sizeof one);
    });
    EventfdReader reader(efd);
    f.sends = vm.pass();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reader.stopAndJoin();
    f.received = reader.received();
    f.receivedPerSec = static_cast<double>(reader.received()) / reader.spanSeconds();
    f.wakeupsPerSec = static_cast<double>(reader.wakeups()) / reader.spanSeconds();
    f.sendsPerSec = static_cast<double>(f.sends) / o.floodSeconds;
  }
  ::close(efd);
  return f;
}

/// Section 4; returns its rows for the summary.
std::vector<std::vector<std::string>> eventSection(Hypervisor& hv, const Options& o, Json& js) {
  Dom0Peer dom0(hv);
  std::vector<double> hvGgCycles, hvGgUs, rawGgCycles, rawGgUs, hvD0Med, rawD0Med, hvD0P90, rawD0P90;
  std::vector<double> hvGgHandlingUs;
  std::vector<double> hvGgExits, hvGgHcs, hvPollCycles, hvPollUs, hvHltUs, hvHltExits, hvD0HltMed;
  std::vector<double> hvSend, rawSend, hvRecv, rawRecv, hvWake, rawWake;
  Json samples = Json::array();
  for (unsigned r = 0; r < o.eventReps; ++r) {  // interleaved, so drift hits both sides alike
    const RoundTrip a = smartvmGuestPingPong(hv, o, std::to_string(r));
    const RoundTrip b = rawGuestPingPong(o);
    const RoundTrip p = smartvmGuestPingPong(hv, o, "poll-" + std::to_string(r), " upcall=poll");
    const RoundTrip h = smartvmGuestPingPong(hv, o, "hlt-" + std::to_string(r), " idle=hlt");
    hvHltUs.push_back(h.us);
    hvHltExits.push_back(h.exits);
    hvGgCycles.push_back(a.cycles);
    hvGgUs.push_back(a.us);
    hvGgExits.push_back(a.exits);
    hvGgHandlingUs.push_back(a.hvUs);
    hvGgHcs.push_back(a.hypercalls);
    hvPollCycles.push_back(p.cycles);
    hvPollUs.push_back(p.us);
    rawGgCycles.push_back(b.cycles);
    rawGgUs.push_back(b.us);
    const auto c = smartvmDom0PingPong(hv, dom0, o, r);
    hvD0HltMed.push_back(median(smartvmDom0PingPong(hv, dom0, o, r, " idle=hlt")));
    const auto d = rawDom0PingPong(o);
    hvD0Med.push_back(median(c));
    hvD0P90.push_back(p90(c));
    rawD0Med.push_back(median(d));
    rawD0P90.push_back(p90(d));
    const Flood e = smartvmFlood(hv, dom0, o, r);
    const Flood f = rawFlood(o);
    hvSend.push_back(e.sendsPerSec);
    hvRecv.push_back(e.receivedPerSec);
    hvWake.push_back(e.wakeupsPerSec);
    rawSend.push_back(f.sendsPerSec);
    rawRecv.push_back(f.receivedPerSec);
    rawWake.push_back(f.wakeupsPerSec);
    samples.push_back({{"smartvm_guest_guest_cycles", a.cycles}, {"smartvm_guest_guest_us", a.us},
                       {"smartvm_guest_guest_exits_per_round", a.exits},
                       {"smartvm_guest_guest_exit_handling_us_per_round", a.hvUs}, {"smartvm_guest_guest_hlt_us", h.us},
                       {"smartvm_guest_guest_hypercalls_per_round", a.hypercalls},
                       {"smartvm_guest_guest_poll_cycles", p.cycles}, {"smartvm_guest_guest_poll_us", p.us},
                       {"raw_guest_guest_cycles", b.cycles}, {"raw_guest_guest_us", b.us},
                       {"smartvm_dom0_guest_us_median", hvD0Med.back()}, {"smartvm_dom0_guest_us_p90", hvD0P90.back()},
                       {"raw_dom0_guest_us_median", rawD0Med.back()}, {"raw_dom0_guest_us_p90", rawD0P90.back()},
                       {"smartvm_flood", {{"sends", e.sends}, {"received", e.received}, {"sends_per_s", e.sendsPerSec},
                                          {"received_per_s", e.receivedPerSec}, {"wakeups_per_s", e.wakeupsPerSec}}},
                       {"raw_flood", {{"sends", f.sends}, {"received", f.received}, {"sends_per_s", f.sendsPerSec},
                                      {"received_per_s", f.receivedPerSec}, {"wakeups_per_s", f.wakeupsPerSec}}}});
  }
  const double mHvGgC = median(hvGgCycles), mHvGgUs = median(hvGgUs), mRawGgC = median(rawGgCycles),
               mRawGgUs = median(rawGgUs), mHvD0 = median(hvD0Med), mRawD0 = median(rawD0Med),
               mHvD0P90 = median(hvD0P90), mRawD0P90 = median(rawD0P90), mHvSend = median(hvSend),
               mRawSend = median(rawSend), mHvRecv = median(hvRecv), mRawRecv = median(rawRecv),
               mHvWake = median(hvWake), mRawWake = median(rawWake);
  auto goal = [](double smartvm, double raw) {
    if (std::isnan(smartvm) || std::isnan(raw) || raw == 0) return std::string("-");
    return std::string(smartvm / raw <= 1.5 ? "yes" : "NO");
  };
  printTable("4. Event channels: round trips and one-way throughput (median of " + std::to_string(o.eventReps) +
                 " passes; " + std::to_string(o.eventRounds) + " rounds, flood " + std::to_string(o.floodSeconds) + " s)",
             {"measure", "smartvm-hv", "raw KVM", "smartvm/raw cost", "goal", "met?"},
             {{"guest<->guest round trip (TSC cycles)", fmt(mHvGgC, 0), fmt(mRawGgC, 0), ratio(mHvGgC, mRawGgC),
               "<= 1.5x", goal(mHvGgC, mRawGgC)},
              {"guest<->guest round trip (us)", fmt(mHvGgUs), fmt(mRawGgUs), ratio(mHvGgUs, mRawGgUs), "", ""},
              {"guest<->guest, guests with upcall=poll (us)", fmt(median(hvPollUs)), fmt(mRawGgUs),
               ratio(median(hvPollUs), mRawGgUs), "", ""},
              {"guest<->guest, guests idle in sti;hlt (us)", fmt(median(hvHltUs)), fmt(mRawGgUs),
               ratio(median(hvHltUs), mRawGgUs), "", ""},
              {"guest<->guest VM exits to user space per round", fmt(median(hvGgExits), 1), "2.0",
               ratio(median(hvGgExits), 2), "", ""},
              {"guest<->guest hypercalls per round", fmt(median(hvGgHcs), 1), "-", "-", "", ""},
              {"guest<->guest smartvm-hv exit handling per round (us)", fmt(median(hvGgHandlingUs)), "-",
               fmt(100.0 * median(hvGgHandlingUs) / mHvGgUs, 1) + "% of the round", "", ""},
              {"dom0<->guest round trip, median (us)", fmt(mHvD0), fmt(mRawD0), ratio(mHvD0, mRawD0), "<= 1.5x",
               goal(mHvD0, mRawD0)},
              {"dom0<->guest, guest idle in sti;hlt, median (us)", fmt(median(hvD0HltMed)), fmt(mRawD0),
               ratio(median(hvD0HltMed), mRawD0), "", ""},
              {"dom0<->guest round trip, p90 (us)", fmt(mHvD0P90), fmt(mRawD0P90), ratio(mHvD0P90, mRawD0P90), "", ""},
              {"guest->dom0 one-way sends/s", fmt(mHvSend, 0), fmt(mRawSend, 0), ratio(mRawSend, mHvSend), "<= 1.5x",
               goal(mRawSend, mHvSend)},
              {"guest->dom0 events dom0 received/s", fmt(mHvRecv, 0), fmt(mRawRecv, 0), ratio(mRawRecv, mHvRecv), "", ""},
              {"guest->dom0 dom0 eventfd wake-ups/s", fmt(mHvWake, 0), fmt(mRawWake, 0), "-", "", ""}});
  std::cout << "raw KVM side: in-kernel irqchip; an event is KVM_SIGNAL_MSI (vector 0x40) into a vCPU waiting in\n"
               "`sti; hlt`, whose IDT handler counts it and EOIs the LAPIC; the answer is `out %al,$0xe5`, on which\n"
               "the vCPU thread signals the peer VM (guest<->guest) or writes an eventfd (dom0 side). smartvm side:\n"
               "pingpong guests / a pong guest with dom0 ringing its doorbell eventfd and waiting on its notify\n"
               "eventfd (EventChannelClient) / flood guest -> dom0 port. Throughput cost ratio = raw rate / smartvm rate.\n"
               "upcall=poll: the same guests handle events by hand after SCHEDOP_block instead of taking the upcall\n"
               "interrupt (fewer emulated CPL0 instructions). Exit counts include each guest's boot.\n";
  js["events"] = {{"rounds", o.eventRounds}, {"reps", o.eventReps}, {"flood_seconds", o.floodSeconds},
                  {"samples", samples},
                  {"median", {{"smartvm_guest_guest_cycles", mHvGgC}, {"raw_guest_guest_cycles", mRawGgC},
                              {"smartvm_guest_guest_us", mHvGgUs}, {"raw_guest_guest_us", mRawGgUs},
                              {"smartvm_guest_guest_poll_us", median(hvPollUs)},
                              {"smartvm_guest_guest_exits_per_round", median(hvGgExits)},
                              {"smartvm_dom0_guest_us", mHvD0}, {"raw_dom0_guest_us", mRawD0},
                              {"smartvm_flood_sends_per_s", mHvSend}, {"raw_flood_sends_per_s", mRawSend},
                              {"smartvm_flood_received_per_s", mHvRecv}, {"raw_flood_received_per_s", mRawRecv}}}};
  return {{"guest<->guest event round trip (cycles)", fmt(mHvGgC, 0), fmt(mRawGgC, 0) + " raw MSI+out", ratio(mHvGgC, mRawGgC),
           "<= 1.5x", goal(mHvGgC, mRawGgC)},
          {"dom0<->guest event round trip, median (us)", fmt(mHvD0), fmt(mRawD0) + " raw MSI+out", ratio(mHvD0, mRawD0),
           "<= 1.5x", goal(mHvD0, mRawD0)},
          {"guest->dom0 one-way events/s", fmt(mHvSend, 0), fmt(mRawSend, 0) + " raw out", ratio(mRawSend, mHvSend),
           "<= 1.5x", goal(mRawSend, mHvSend)}};
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
  js["config"]["event_rounds"] = o.eventRounds;
  js["config"]["event_reps"] = o.eventReps;
  js["config"]["flood_seconds"] = o.floodSeconds;
  std::cout << "smartvm-bench: iters=" << o.iters << " reps=" << o.reps << " domains=" << o.domains
            << " event-rounds=" << o.eventRounds << " event-reps=" << o.eventReps << " flood-seconds=" << o.floodSeconds
            << (o.quick ? " (quick)" : "") << (o.eventsOnly ? " (events only)" : "")
            << "\nplatform: " << (*platform)->describe() << "\n";
  auto writeJson = [&]() {
    if (o.json.empty()) return 0;
    std::ofstream f(o.json);
    f << js.dump(2) << "\n";
    if (!f) {
      std::cerr << "smartvm-bench: cannot write " << o.json << "\n";
      return 2;
    }
    std::cout << "\nwrote " << o.json << "\n";
    return 0;
  };
  const std::vector<std::string> summaryHead{"measure", "smartvm", "baseline", "ratio", "goal", "met?"};
  if (o.eventsOnly) {
    auto rows = eventSection(hv, o, js);
    printTable("Summary", summaryHead, rows);
    return writeJson();
  }

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

  // ---- 4. event channels (last: its domains do not disturb section 2's domid guesses)
  auto eventRows = eventSection(hv, o, js);

  // ---- summary
  auto met = [](bool ok) { return std::string(ok ? "yes" : "NO"); };
  const double hcRatio = mHc / mRawStub;
  std::vector<std::vector<std::string>> summary{
              {"null hypercall (cycles)", fmt(mHc), fmt(mRawStub) + " raw call stub", ratio(mHc, mRawStub), "<= 1.2x",
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
               met(mN.hvMibPerDomain() < 2)}};
  summary.insert(summary.end(), eventRows.begin(), eventRows.end());
  printTable("Summary", summaryHead, summary);
  js["summary"] = {{"hypercall_over_raw_stub", hcRatio}, {"hypercall_goal_met", hcRatio <= 1.2},
                   {"create_1_median_ms", oneFirstMed}, {"create_n_median_ms", manyFirstMed},
                   {"create_n_p90_ms", manyFirstP90}, {"mem_1_mib_per_domain", m1.hvMibPerDomain()},
                   {"mem_n_mib_per_domain", mN.hvMibPerDomain()}};

  return writeJson();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "smartvm-bench: smartvm-hv measured side by side with raw KVM in one run (needs /dev/kvm, usually root).\n"
      "1) null hypercall and port-0x80 exit vs a raw-KVM guest doing the same at CPL0 in 64-bit mode;\n"
      "2) createDomain() to the guest's first exit for 1 and N domains vs a raw KVM VM;\n"
      "3) smartvm-hv's own memory per idle domain (guest RAM excluded);\n"
      "4) event channel round trips guest<->guest and dom0<->guest, and one-way guest->dom0 throughput, vs raw\n"
      "   KVM_SIGNAL_MSI into a halted vCPU answered by a port write.\n"
      "Prints tables of medians and ratios against the goals; asserts nothing. Exit 77 = skipped (no KVM)."};
  app.add_option("--iters", o.iters, "operations per timed loop")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--reps", o.reps, "repetitions per measurement (medians are reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--domains", o.domains, "domains for the 'many' create and memory series")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--event-rounds", o.eventRounds, "event round trips per pass (section 4)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--event-reps", o.eventReps, "passes of each event measurement (medians are reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--flood-seconds", o.floodSeconds, "seconds each one-way flood runs")
      ->capture_default_str()
      ->check(CLI::Range(1u, 60u));
  app.add_flag("--events-only", o.eventsOnly, "run only section 4 (event channels)");
  app.add_flag("--quick", o.quick,
               "small run for smoke tests: --iters 1000 --reps 3 --domains 5 --event-rounds 200 --event-reps 1 "
               "--flood-seconds 1 unless given");
  app.add_option("--json", o.json, "also write all numbers to this JSON file");
  app.add_option("--guest", o.guest, "PVH guest kernel (smartvm-guest.elf)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    if (app.count("--iters") == 0) o.iters = 1000;
    if (app.count("--reps") == 0) o.reps = 3;
    if (app.count("--domains") == 0) o.domains = 5;
    if (app.count("--event-rounds") == 0) o.eventRounds = 200;
    if (app.count("--event-reps") == 0) o.eventReps = 1;
    if (app.count("--flood-seconds") == 0) o.floodSeconds = 1;
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
