#pragma once
// smartvm-blk-bench: the two sides of every measure on one image file.
//  - direct: `qemu-img bench` on the image (same format, cache=writeback and
//    aio=threads, which is how qemu-storage-daemon opens it for the backend);
//  - PV: a real guest (workload=blkbench) on the in-process split-driver rig
//    (tests/integration/PvRig.h: smartvm-hv, xenstored, smartvm-blkback with
//    qemu-storage-daemon), its disk the same image.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "smartvm/Result.h"

namespace smartvm::test {
class PvRig;
}
namespace smartvm::dom0 {
class XenstoreDomains;
class VbdDomains;
}  // namespace smartvm::dom0

namespace smartvm::blkbench {

/// One of the four measures.
struct Measure {
  std::string name;     // "4k-randread", ...
  std::string mode;     // the guest's mode=
  uint64_t bs = 0;      // bytes per op
  bool write = false;
  bool random = false;
  double goal = 0;      // PV / direct wanted at least
  bool iops() const { return bs < (1u << 20); }  // small ops count, large ones move bytes
  std::string unit() const { return iops() ? "IOPS" : "MB/s"; }
  std::string label() const;
};

/// The four measures of the issue: 4 KiB random read/write (IOPS, goal 60 %),
/// 1 MiB sequential read/write (MB/s, goal 80 %).
std::vector<Measure> standardMeasures();

/// What one side of one measure moved.
struct Figure {
  uint64_t ops = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::string detail;   // the tool's line (qemu-img's, the guest's RESULT)
  // PV only, from smartvm-hv's counters over the whole boot (boot and
  // handshake included; the I/O loop dominates a run of seconds): where the
  // guest's time goes.
  uint64_t requests = 0;  // blkif requests (the guest's requests=)
  uint64_t exits = 0;
  uint64_t hypercalls = 0;
  double hvSeconds = 0;   // smartvm-hv's own exit handling (exitHandlingNs)
  std::string exitCounts; // "io=..., hypercall=..." by reason
  double value(const Measure& m) const;  // IOPS or MB/s (10^6 bytes)
};

struct Sizes {
  uint64_t directOps4k = 200000;  // qemu-img bench -c
  uint64_t directOps1m = 2000;
  uint64_t guestMs = 5000;        // duration_ms of each guest run
  unsigned depth = 8;             // requests in flight on both sides
};

/// Creates the image (raw or qcow2, fully preallocated so neither side pays
/// for allocation) at path. Also the qemu-img command lines used.
Status createImage(const std::string& path, const std::string& format, uint64_t bytes);

/// `qemu-img bench` for m. qemu-img bench has no random mode: random ops use
/// a stride (-S) of about 0.618 of the image, an odd number of 4 KiB pages,
/// so offsets wrap around and scatter over the whole image without repeats.
Result<Figure> runDirect(const Measure& m, const std::string& image, const std::string& format, uint64_t imageBytes,
                         const Sizes& sizes);
std::string directCommand(const Measure& m, const std::string& image, const std::string& format, uint64_t imageBytes,
                          const Sizes& sizes);

/// The rig and the toolstack hooks, started once for every guest run.
class GuestSide {
 public:
  GuestSide();
  ~GuestSide();
  Status start();
  /// Boots one guest with image as xvda running blkbench for m; parses its RESULT line.
  Result<Figure> run(const Measure& m, const std::string& image, const std::string& format, const Sizes& sizes,
                     uint64_t seed);
  static std::string cmdline(const Measure& m, const Sizes& sizes, uint64_t seed);

 private:
  std::unique_ptr<test::PvRig> rig_;
  std::unique_ptr<dom0::XenstoreDomains> nodes_;
  std::unique_ptr<dom0::VbdDomains> disks_;
  unsigned boots_ = 0;
};

/// The fields of a `RESULT blkbench ...` line (empty when absent).
Result<Figure> parseGuestResult(const std::string& console);

}  // namespace smartvm::blkbench
