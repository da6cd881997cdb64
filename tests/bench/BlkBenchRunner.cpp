// smartvm-blk-bench: creating the image, qemu-img bench, and guests on the PV rig.
#include "BlkBenchRunner.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "PvRig.h"
#include "smartvm/hv/Domain.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

namespace smartvm::blkbench {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kMiB = 1 << 20;
/// A guest that has not powered off by then is stuck (its own waits end in 10 s).
constexpr auto kGuestSlack = 60s;

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs a shell command; its stdout+stderr, or an error with them.
Result<std::string> capture(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return errnoStatus("popen " + cmd);
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  if (rc != 0) return error(EIO, cmd + " failed (status " + std::to_string(rc) + "): " + out);
  return out;
}

uint64_t field(const std::string& line, const std::string& key) {
  const std::regex re("(^| )" + key + "=([0-9]+)");
  std::smatch m;
  return std::regex_search(line, m, re) ? std::stoull(m[2].str()) : 0;
}

}  // namespace

std::string Measure::label() const {
  return std::string(bs >= kMiB ? "1 MiB" : "4 KiB") + (random ? " random " : " sequential ") + (write ? "write" : "read");
}

std::vector<Measure> standardMeasures() {
  return {{"4k-randread", "randread", 4096, false, true, 0.60},
          {"4k-randwrite", "randwrite", 4096, true, true, 0.60},
          {"1m-seqread", "seqread", kMiB, false, false, 0.80},
          {"1m-seqwrite", "seqwrite", kMiB, true, false, 0.80}};
}

double Figure::value(const Measure& m) const {
  if (seconds <= 0) return 0;
  return m.iops() ? static_cast<double>(ops) / seconds : static_cast<double>(bytes) / seconds / 1e6;
}

Status createImage(const std::string& path, const std::string& format, uint64_t bytes) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  // Full preallocation: every block exists in the file (and a qcow2 has all
  // its clusters), so writes on either side never allocate.
  const std::string cmd = "qemu-img create -q -f " + format + " -o preallocation=full " + quote(path) + " " +
                          std::to_string(bytes);
  auto r = capture(cmd);
  return r.isOk() ? Status::ok() : r.status();
}

std::string directCommand(const Measure& m, const std::string& image, const std::string& format, uint64_t imageBytes,
                          const Sizes& sizes) {
  const uint64_t count = m.iops() ? sizes.directOps4k : sizes.directOps1m;
  uint64_t step = m.bs;
  if (m.random) {
    // An odd number of pages: coprime with a power-of-two image, so the
    // offsets visit every page before any repeats.
    step = (imageBytes / kPage * 618 / 1000 | 1) * kPage;
  }
  // cache=writeback, aio=threads: qemu-storage-daemon's defaults for the
  // blockdev-add the backend issues (qemu-backend/StorageDaemon.cpp).
  return "qemu-img bench -f " + format + " -t writeback -i threads" + (m.write ? " -w" : "") + " -c " +
         std::to_string(count) + " -d " + std::to_string(sizes.depth) + " -s " + std::to_string(m.bs) + " -S " +
         std::to_string(step) + " " + quote(image);
}

Result<Figure> runDirect(const Measure& m, const std::string& image, const std::string& format, uint64_t imageBytes,
                         const Sizes& sizes) {
  const std::string cmd = directCommand(m, image, format, imageBytes, sizes);
  SMARTVM_ASSIGN_OR_RETURN(const std::string out, capture(cmd));
  // "Run completed in 0.167 seconds." (qemu-img's own clock around the requests only)
  std::smatch match;
  if (!std::regex_search(out, match, std::regex("Run completed in ([0-9.]+) seconds")))
    return error(EIO, "no 'Run completed' line from: " + cmd + "\n" + out);
  Figure f;
  f.ops = m.iops() ? sizes.directOps4k : sizes.directOps1m;
  f.bytes = f.ops * m.bs;
  f.seconds = std::stod(match[1].str());
  // qemu-img prints milliseconds: a run shorter than that cannot be timed.
  if (f.seconds < 0.001) return error(ERANGE, "qemu-img bench finished in under 1 ms; raise the op count");
  f.detail = match[0].str();
  return f;
}

Result<Figure> parseGuestResult(const std::string& console) {
  const size_t at = console.find("RESULT blkbench");
  if (at == std::string::npos) {
    const size_t failAt = console.find("FAIL");
    const std::string why = failAt == std::string::npos ? "no RESULT blkbench or FAIL line"
                                                        : console.substr(failAt, console.find('\n', failAt) - failAt);
    return error(EIO, "guest: " + why);
  }
  const std::string line = console.substr(at, console.find('\n', at) - at);
  Figure f;
  f.ops = field(line, "ops");
  f.bytes = field(line, "bytes");
  f.seconds = static_cast<double>(field(line, "ns")) / 1e9;
  f.detail = line;
  f.requests = field(line, "requests");
  if (f.ops == 0 || f.seconds <= 0) return error(EIO, "guest result without ops or time: " + line);
  return f;
}

GuestSide::GuestSide() = default;
GuestSide::~GuestSide() {
  disks_.reset();
  nodes_.reset();
  rig_.reset();
}

Status GuestSide::start() {
  rig_ = std::make_unique<test::PvRig>();
  SMARTVM_TRY(rig_->startHvAndXenstored());
  SMARTVM_TRY(rig_->startBlkback());
  nodes_ = std::make_unique<dom0::XenstoreDomains>(rig_->xenstoredSocket());
  disks_ = std::make_unique<dom0::VbdDomains>(rig_->xenstoredSocket());
  return Status::ok();
}

std::string GuestSide::cmdline(const Measure& m, const Sizes& sizes, uint64_t seed) {
  return "workload=blkbench mode=" + m.mode + " bs=" + std::to_string(m.bs) + " count=0 duration_ms=" +
         std::to_string(sizes.guestMs) + " depth=" + std::to_string(sizes.depth) + " seed=" + std::to_string(seed);
}

Result<Figure> GuestSide::run(const Measure& m, const std::string& image, const std::string& format,
                              const Sizes& sizes, uint64_t seed) {
  v1::DomainConfig c;
  c.set_name("blkbench" + std::to_string(++boots_));
  c.set_type(v1::DOMAIN_TYPE_PVH);
  c.set_memory_mib(64);  // 8 slots x 1 MiB of buffers fit easily
  c.set_vcpus(1);
  c.set_kernel(SMARTVM_GUEST_ELF);
  c.set_cmdline(cmdline(m, sizes, seed));
  c.set_start_paused(true);
  c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
  auto* d = c.add_disks();
  d->set_target(image);
  d->set_format(format);
  d->set_vdev("xvda");

  // As smartvmd: create paused, write the domain's nodes, attach its disks, unpause.
  SMARTVM_ASSIGN_OR_RETURN(const v1::DomainInfo info, rig_->hv().createDomain(c));
  const uint32_t domid = info.domid();
  nodes_->onCreated(info);
  Status s = disks_->attachAll(info);
  if (s.isOk()) s = rig_->hv().unpause(domid);
  if (s.isOk()) s = rig_->hv().waitForShutdown(domid, std::chrono::milliseconds(sizes.guestMs) + kGuestSlack);
  auto con = rig_->hv().console(domid);
  const std::string out = con.isOk() ? (*con)->snapshot() : std::string();
  uint64_t exits = 0, hypercalls = 0;
  double hvSeconds = 0;
  std::string exitCounts;
  if (auto dom = rig_->hv().find(domid)) {
    const hv::DomainCounters& k = dom->counters();
    for (const auto& e : k.exits) exits += e.load(std::memory_order_relaxed);
    for (const auto& h : k.hypercalls) hypercalls += h.load(std::memory_order_relaxed);
    hvSeconds = static_cast<double>(k.exitHandlingNs.load()) / 1e9;
    for (const auto& [name, n] : k.exitCounts()) exitCounts += (exitCounts.empty() ? "" : " ") + name + "=" + std::to_string(n);
  }
  nodes_->onDestroyed(domid);
  disks_->onDestroyed(domid);
  (void)rig_->hv().destroy(domid);
  if (!s.isOk()) return error(s.code(), "guest " + c.name() + ": " + s.message() + "\nconsole:\n" + out);
  auto f = parseGuestResult(out);
  if (f.isOk()) {
    f->exits = exits;
    f->hypercalls = hypercalls;
    f->hvSeconds = hvSeconds;
    f->exitCounts = exitCounts;
  }
  return f;
}

}  // namespace smartvm::blkbench
