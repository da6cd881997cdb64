// blkbench: PV block throughput from inside the guest, for smartvm-blk-bench.
//   workload=blkbench mode=randread|randwrite|seqread|seqwrite [bs=<bytes>]
//                     [count=<ops>] [duration_ms=<ms>] [depth=<1..8>] [seed=<n>]
//                     [vbd=<id>] [timeout_ms=<ms>]
// An op moves bs bytes (a multiple of the disk's sector size, up to 1 MiB)
// at a bs-aligned offset: sequential ops follow each other and wrap at the
// end of the disk, random ops pick their slot with splitmix64(seed). An op
// larger than one request (11 pages direct, up to 256 with indirect
// segments) is split; depth requests stay in flight. The run ends after
// count ops or, when duration_ms is given, at the first op boundary past it.
//
// The data is never looked at or filled (writes send whatever the buffers
// hold, zeros): this guest's CPL0 code is emulated, so touching 1 MiB per op
// would measure the emulator, not the I/O path. For the same reason the
// frontend uses persistent grants and one indirect request per 1 MiB.
//
// Prints one line, Xen system time in ns:
//   RESULT blkbench mode=<m> bs=<b> depth=<d> ops=<n> bytes=<B> ns=<T>
//          iops=<n> kbps=<n> requests=<r> segments=<per request> indirect=<0/1>
#include "kernel/Blkfront.h"
#include "kernel/Console.h"
#include "kernel/Events.h"
#include "kernel/GrantTable.h"
#include "kernel/Shutdown.h"
#include "kernel/XenTime.h"
#include "kernel/Xenbus.h"
#include "lib/XsRequest.h"
#include "workloads/Workloads.h"

namespace {

constinit Blkfront gBench;

constexpr uint64_t kMaxBs = uint64_t{1} << 20;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct Bench {
  uint8_t op = BLKIF_OP_READ;
  bool random = false;
  uint64_t bsSectors = 0;
  uint64_t slots = 0;  // bs-sized places on the disk
  uint64_t depth = 0;
  uint64_t timeoutNs = 0;
  uint64_t rng = 0;
  uint64_t next = 0;   // sequential: the next slot
  uint64_t bytes = 0;  // completed
};

void reapOne(Bench& b) {
  uint32_t slot = 0;
  int16_t status = 0;
  const long rc = gBench.waitAny(slot, status, xentime::now() + b.timeoutNs);
  if (rc != 0)
    fail(Line().str("blkbench: no response from the backend: rc=").sdec(rc).ch(' ').str(xsErrorName(rc))
             .str(" in_flight=").dec(gBench.inFlight()));
  if (status != BLKIF_RSP_OKAY)
    fail(Line().str("blkbench: ").str(blkif::opName(gBench.op(slot))).str(" sector=").dec(gBench.sector(slot))
             .str(" count=").dec(gBench.sectors(slot)).str(" status=").sdec(status).str(" (BLKIF_RSP_")
             .str(blkif::statusName(status)).ch(')'));
  b.bytes += uint64_t{gBench.sectors(slot)} * blkif::kSectorBytes;
  gBench.release(slot);
}

uint64_t nextOpSector(Bench& b) {
  uint64_t slot = 0;
  if (b.random) {
    slot = splitmix64(b.rng) % b.slots;
  } else {
    slot = b.next;
    b.next = b.next + 1 == b.slots ? 0 : b.next + 1;
  }
  return slot * b.bsSectors;
}

}  // namespace

void runBlkBench(const Cmdline& cmdline) {
  const Str mode = cmdline.value("mode", "randread");
  Bench b;
  if (mode == "randread" || mode == "seqread") {
    b.op = BLKIF_OP_READ;
  } else if (mode == "randwrite" || mode == "seqwrite") {
    b.op = BLKIF_OP_WRITE;
  } else {
    fail(Line().str("mode= must be randread, randwrite, seqread or seqwrite, not '").str(mode).ch('\''));
  }
  b.random = mode == "randread" || mode == "randwrite";
  const uint64_t bs = cmdline.numberOrFail("bs", 4096);
  const uint64_t count = cmdline.numberOrFail("count", 10000);
  const uint64_t durationMs = cmdline.numberOrFail("duration_ms", 0);
  b.depth = cmdline.numberOrFail("depth", 8);
  b.rng = cmdline.numberOrFail("seed", 1);
  const uint64_t timeoutMs = cmdline.numberOrFail("timeout_ms", 10000);
  if (bs == 0 || bs > kMaxBs || bs % blkif::kSectorBytes != 0) fail("blkbench: bs= must be 512..1048576, a multiple of 512");
  if (count == 0 && durationMs == 0) fail("blkbench: count=0 needs duration_ms=");
  if (durationMs > 3600000) fail("blkbench: duration_ms= must be at most 3600000");
  if (b.depth == 0 || b.depth > Blkfront::kSlots) fail(Line().str("blkbench: depth= must be 1..").dec(Blkfront::kSlots));
  if (timeoutMs == 0 || timeoutMs > 3600000) fail("blkbench: timeout_ms= must be 1..3600000");
  b.timeoutNs = timeoutMs * xentime::kNsPerMs;
  b.bsSectors = bs / blkif::kSectorBytes;

  events::init();
  xentime::require("blkbench");
  Line why;
  if (xenbus::init(why) != 0) fail(Line().str("blkbench: ").str(why.view()));
  xenbus::setTimeout(b.timeoutNs);
  if (gnttab::init(why) != 0) fail(Line().str("blkbench: ").str(why.view()));
  Blkfront::Options options;
  const uint64_t pages = (bs + blkif::kPageBytes - 1) / blkif::kPageBytes;
  options.maxSegments = static_cast<uint32_t>(pages < Blkfront::kMaxSegments ? pages : Blkfront::kMaxSegments);
  options.persistentGrants = true;
  gBench.configure(options);
  if (gBench.connect(cmdline.value("vbd", ""), b.timeoutNs, why) != 0) fail(Line().str("blkbench: ").str(why.view()));
  const Blkfront::Info& info = gBench.info();
  if (bs % info.sectorSize != 0) fail(Line().str("blkbench: bs= must be a multiple of the sector size ").dec(info.sectorSize));
  b.slots = info.sectors / b.bsSectors;
  if (b.slots == 0) fail(Line().str("blkbench: the disk (").dec(info.sectors).str(" sectors) is smaller than bs="));
  if (b.op == BLKIF_OP_WRITE && (info.info & VDISK_READONLY) != 0) fail("blkbench: the disk is read-only");

  const uint64_t start = xentime::now();
  const uint64_t stopAt = durationMs != 0 ? start + durationMs * xentime::kNsPerMs : 0;
  uint64_t ops = 0;
  uint64_t opSector = nextOpSector(b);
  uint64_t opDone = 0;  // sectors of the current op submitted
  for (;;) {
    while (gBench.outstanding() >= b.depth) reapOne(b);
    uint32_t slot = 0;
    if (gBench.acquire(slot) != 0) {
      reapOne(b);
      continue;
    }
    const uint64_t left = b.bsSectors - opDone;
    const uint32_t n = left < gBench.maxSectors() ? static_cast<uint32_t>(left) : gBench.maxSectors();
    const long rc = gBench.submit(slot, b.op, opSector + opDone, n);
    if (rc != 0)
      fail(Line().str("blkbench: submitting ").str(blkif::opName(b.op)).str(" sector=").dec(opSector + opDone)
               .str(" rc=").sdec(rc));
    opDone += n;
    if (opDone < b.bsSectors) continue;
    ++ops;
    if (count != 0 && ops >= count) break;
    if (stopAt != 0 && xentime::now() >= stopAt) break;
    opSector = nextOpSector(b);
    opDone = 0;
  }
  while (gBench.outstanding() != 0) reapOne(b);
  const uint64_t ns = xentime::now() - start;
  gBench.close();

  const uint64_t safeNs = ns == 0 ? 1 : ns;
  // Integer arithmetic only (no SSE at CPL0); ops and bytes stay far below 2^34.
  const uint64_t iops = ops * xentime::kNsPerSec / safeNs;
  const uint64_t kbps = b.bytes * 1000000 / safeNs;  // 10^3 bytes per second
  console::print(Line().str("RESULT blkbench mode=").str(mode).str(" bs=").dec(bs).str(" depth=").dec(b.depth)
                     .str(" ops=").dec(ops).str(" bytes=").dec(b.bytes).str(" ns=").dec(ns).str(" iops=").dec(iops)
                     .str(" kbps=").dec(kbps).str(" requests=").dec(gBench.requests())
                     .str(" segments=").dec(info.segments).str(" indirect=").dec(info.segments > BLKIF_MAX_SEGMENTS_PER_REQUEST ? 1 : 0)
                     .str(" leaked_grants=").dec(gBench.leakedGrants()));
}
