// smartvm-blk-bench: PV block from inside a guest against qemu-img bench on the
// same image file, in one run: 4 KiB random read/write (IOPS, goal 60 % of
// direct) and 1 MiB sequential read/write (MB/s, goal 80 %). Reports, asserts
// nothing about speed. Exit 0 after a run, 77 when /dev/kvm or QEMU's tools
// are missing (printed reason), 1 when a guest or qemu-img fails, 2 on a bad
// option. See tests/bench/README.md and docs/storage.md.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "BlkBenchReport.h"
#include "BlkBenchRunner.h"
#include "PvRig.h"

using namespace smartvm::blkbench;

namespace {

struct Options {
  std::string format = "raw";
  uint64_t sizeMib = 256;
  std::string image;  // default: a temporary directory
  unsigned reps = 1;
  bool quick = false;
  bool check = false;
  Sizes sizes;
  uint64_t seed = 1;
  std::string json;
  std::string out;  // PNG directory ("" = none)
  std::vector<std::string> only;  // measure names; empty = all four
};

int parse(int argc, char** argv, Options& o) {
  CLI::App app{"smartvm-blk-bench: PV block in a guest vs qemu-img bench on the same image"};
  app.add_option("--format", o.format, "image format")->check(CLI::IsMember({"raw", "qcow2"}));
  app.add_option("--size-mib", o.sizeMib, "image size in MiB")->check(CLI::Range(16, 65536));
  app.add_option("--image", o.image, "image path (created, overwritten; default: in a temporary directory)");
  app.add_option("--reps", o.reps, "repetitions of every measure (median reported)")->check(CLI::Range(1, 20));
  app.add_option("--depth", o.sizes.depth, "requests in flight on both sides")->check(CLI::Range(1, 8));
  app.add_option("--guest-ms", o.sizes.guestMs, "duration of each guest run (ms)")->check(CLI::Range(50, 600000));
  app.add_option("--direct-ops-4k", o.sizes.directOps4k, "qemu-img bench -c for the 4 KiB measures")
      ->check(CLI::Range(100, 100000000));
  app.add_option("--direct-ops-1m", o.sizes.directOps1m, "qemu-img bench -c for the 1 MiB measures")
      ->check(CLI::Range(10, 1000000));
  app.add_option("--only", o.only, "run only these measures (4k-randread, 4k-randwrite, 1m-seqread, 1m-seqwrite)")
      ->delimiter(',')
      ->check(CLI::IsMember({"4k-randread", "4k-randwrite", "1m-seqread", "1m-seqwrite"}));
  app.add_option("--seed", o.seed, "the guest's random offsets");
  app.add_flag("--quick", o.quick, "tiny runs for the smoke test (32 MiB image, 300 ms guests)");
  app.add_flag("--check", o.check, "exit 1 unless every measure has positive figures and a ratio (the smoke test)");
  app.add_option("--json", o.json, "also write every figure as JSON here");
  app.add_option("--out", o.out, "write blk-bench.png (gnuplot) into this directory");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.quick) {  // smaller defaults; options given explicitly win
    if (app.count("--size-mib") == 0) o.sizeMib = 32;
    if (app.count("--guest-ms") == 0) o.sizes.guestMs = 300;
    if (app.count("--direct-ops-4k") == 0) o.sizes.directOps4k = 20000;
    if (app.count("--direct-ops-1m") == 0) o.sizes.directOps1m = 200;
  }
  return -1;
}

nlohmann::json configJson(const Options& o, const std::string& image) {
  return {{"format", o.format}, {"size_mib", o.sizeMib}, {"image", image}, {"reps", o.reps}, {"quick", o.quick},
          {"depth", o.sizes.depth}, {"guest_ms", o.sizes.guestMs}, {"direct_ops_4k", o.sizes.directOps4k},
          {"direct_ops_1m", o.sizes.directOps1m}, {"seed", o.seed},
          {"host_cores", std::thread::hardware_concurrency()}};
}

std::string num(double v, int decimals) {
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

void progress(unsigned& k, unsigned total, const Measure& m, const std::string& side, const Figure& f) {
  std::cerr << "[" << ++k << "/" << total << "] " << m.name << " " << side << ": "
            << num(f.value(m), m.iops() ? 0 : 1) << " " << m.unit() << " (" << f.ops << " ops in "
            << num(f.seconds, 3) << " s)";
  if (f.requests != 0)
    std::cerr << "; per blkif request " << num(static_cast<double>(f.seconds) * 1e6 / f.requests, 0) << " us, "
              << num(static_cast<double>(f.exits) / f.requests, 1) << " exits to smartvm-hv, " << num(static_cast<double>(f.hypercalls) / f.requests, 1)
              << " hypercalls, " << num(f.hvSeconds * 1e6 / f.requests, 0) << " us in smartvm-hv [" << f.exitCounts << "]";
  std::cerr << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int rc = parse(argc, argv, o); rc >= 0) return rc;
  spdlog::set_level(spdlog::level::warn);  // domain and backend chatter would drown the table
  if (const std::string why = smartvm::test::PvRig::unavailableReason(true); !why.empty()) {
    std::cout << "SKIP: smartvm-blk-bench: " << why << "\n";
    return 77;
  }
  if (!std::filesystem::exists(SMARTVM_GUEST_ELF)) {
    std::cerr << "smartvm-blk-bench: guest kernel not found: " << SMARTVM_GUEST_ELF << " (build target smartvm_guest)\n";
    return 2;
  }
  std::string tmpDir;
  std::string image = o.image;
  if (image.empty()) {
    char tmpl[] = "/tmp/smartvm-blk-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::cerr << "smartvm-blk-bench: mkdtemp failed\n";
      return 2;
    }
    tmpDir = tmpl;
    image = tmpDir + "/bench." + o.format;
  }
  const uint64_t imageBytes = o.sizeMib << 20;
  std::vector<Measure> measures;
  for (const Measure& m : standardMeasures())
    if (o.only.empty() || std::find(o.only.begin(), o.only.end(), m.name) != o.only.end()) measures.push_back(m);
  Report report(measures);
  std::cout << "smartvm-blk-bench: " << (o.quick ? "quick, " : "") << o.format << " image of " << o.sizeMib
            << " MiB (" << image << "), depth " << o.sizes.depth << ", " << o.reps << " rep(s), guests run "
            << o.sizes.guestMs << " ms each, " << std::thread::hardware_concurrency() << " host cores\n";
  for (const Measure& m : measures)
    std::cout << "  " << m.name << ": direct `" << directCommand(m, image, o.format, imageBytes, o.sizes)
              << "`; guest `" << GuestSide::cmdline(m, o.sizes, o.seed) << "`\n";
  std::cout.flush();

  int rc = 0;
  try {
    if (auto s = createImage(image, o.format, imageBytes); !s.isOk()) throw std::runtime_error(s.toString());
    unsigned k = 0;
    const unsigned total = static_cast<unsigned>(measures.size()) * 2 * o.reps;
    for (unsigned rep = 0; rep < o.reps; ++rep) {
      // Direct first, with the rig down: qemu-img and qemu-storage-daemon
      // both take QEMU's write lock on the image, so they cannot overlap.
      for (const Measure& m : measures) {
        auto f = runDirect(m, image, o.format, imageBytes, o.sizes);
        if (!f.isOk()) throw std::runtime_error(f.status().toString());
        progress(k, total, m, "direct", *f);
        report.row(m.name).direct.push_back(std::move(f).value());
      }
      GuestSide guests;
      if (auto s = guests.start(); !s.isOk()) throw std::runtime_error("starting the PV rig: " + s.toString());
      for (const Measure& m : measures) {
        auto f = guests.run(m, image, o.format, o.sizes, o.seed + rep);
        if (!f.isOk()) throw std::runtime_error(f.status().toString());
        progress(k, total, m, "PV guest", *f);
        report.row(m.name).pv.push_back(std::move(f).value());
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "smartvm-blk-bench: FAILED: " << e.what() << "\n";
    rc = 1;
  }
  if (rc == 0) {
    report.print(std::cout, "qemu-img bench");
    std::cout << "Goals are reported, not asserted. PV figures use the guest's Xen time over its I/O loop; direct "
                 "figures qemu-img's own timing.\n";
    if (!o.out.empty())
      if (const std::string png = report.plot(o.out); !png.empty()) std::cout << "wrote " << png << "\n";
    if (!o.json.empty()) {
      std::error_code ec;
      if (const auto dir = std::filesystem::path(o.json).parent_path(); !dir.empty())
        std::filesystem::create_directories(dir, ec);
      std::ofstream f(o.json);
      f << report.json(configJson(o, image)).dump(2) << "\n";
      std::cout << (f ? "wrote " : "could not write ") << o.json << "\n";
    }
  }
  if (rc == 0 && o.check) {
    for (const Row& r : report.rows()) {
      const bool ok = r.directValue() > 0 && r.pvValue() > 0 && r.ratio() > 0 && !r.direct.empty() && !r.pv.empty();
      std::cout << "check " << r.measure.name << ": " << (ok ? "ok" : "FAILED") << " (direct " << r.directValue()
                << ", pv " << r.pvValue() << ", ratio " << r.ratio() << ")\n";
      if (!ok) rc = 1;
    }
  }
  if (!tmpDir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tmpDir, ec);
  }
  return rc;
}
