// blk: the blkfront driver end to end against a real backend.
//   workload=blk [vbd=<id>] [mode=rw|write|verify] [start=<sector>]
//                [count=<sectors>] [seed=<n>] [depth=<1..8>] [timeout_ms=<ms>]
//                [persistent=0|1]
// mode=rw (default) writes the seed's pattern (lib/DiskPattern.h) over
// count 512-byte sectors from start, flushes, reads them back and checks
// them; write stops after the flush; verify only reads and checks, which is
// how a second boot of the same image proves the data stayed. persistent=1
// grants each slot's pages once and offers feature-persistent (Blkfront's
// persistentGrants), so the backend may map them once and keep them.
#include "kernel/Blkfront.h"
#include "kernel/Console.h"
#include "kernel/Events.h"
#include "kernel/GrantTable.h"
#include "kernel/Shutdown.h"
#include "kernel/XenTime.h"
#include "kernel/Xenbus.h"
#include "lib/DiskPattern.h"
#include "lib/XsRequest.h"
#include "workloads/Workloads.h"

namespace {

constinit Blkfront gDisk;

struct Run {
  uint64_t start, count, seed, depth, timeoutNs;
  uint64_t written = 0, read = 0, verified = 0, mismatches = 0;
  uint64_t firstBadSector = 0, firstBadWord = 0;
  const char* flush = "none";
};

[[noreturn]] void failIo(Str what, uint32_t slot, long rc, int16_t status) {
  Line why;
  why.str("blk: ").str(what).str(" sector=").dec(gDisk.sector(slot)).str(" count=").dec(gDisk.sectors(slot));
  if (rc != 0)
    why.str(" rc=").sdec(rc).ch(' ').str(xsErrorName(rc));
  else
    why.str(" status=").sdec(status).str(" (BLKIF_RSP_").str(blkif::statusName(status)).ch(')');
  fail(why);
}

void checkSlot(Run& run, uint32_t slot) {
  const uint8_t* buf = gDisk.data(slot);
  for (uint32_t i = 0; i < gDisk.sectors(slot); ++i) {
    const uint64_t sector = gDisk.sector(slot) + i;
    const unsigned word = diskpattern::check(buf + uint64_t{i} * blkif::kSectorBytes, run.seed, sector);
    ++run.read;
    if (word == diskpattern::kWordsPerSector) {
      ++run.verified;
    } else if (run.mismatches++ == 0) {
      run.firstBadSector = sector;
      run.firstBadWord = word;
    }
  }
}

// Reaps one completed request; a failed one ends the run.
void reapOne(Run& run) {
  uint32_t slot = 0;
  int16_t status = 0;
  const long rc = gDisk.waitAny(slot, status, xentime::now() + run.timeoutNs);
  if (rc != 0) {
    Line why;
    why.str("blk: no response from the backend: rc=").sdec(rc).ch(' ').str(xsErrorName(rc))
        .str(" in_flight=").dec(gDisk.inFlight());
    fail(why);
  }
  const uint8_t op = gDisk.op(slot);
  const bool flushOp = op == BLKIF_OP_FLUSH_DISKCACHE || op == BLKIF_OP_WRITE_BARRIER;
  if (flushOp && status == BLKIF_RSP_EOPNOTSUPP) {
    // As xen-blkfront: the backend has no such flush after all; the data is written.
    run.flush = "unsupported";
    gDisk.release(slot);
    return;
  }
  if (status != BLKIF_RSP_OKAY) failIo(blkif::opName(op), slot, 0, status);
  if (op == BLKIF_OP_WRITE) run.written += gDisk.sectors(slot);
  if (op == BLKIF_OP_READ) checkSlot(run, slot);
  gDisk.release(slot);
}

// Moves [start, start + count) in requests of up to kMaxSectors, keeping
// up to depth of them in flight.
void pass(Run& run, uint8_t op) {
  uint64_t sector = run.start;
  const uint64_t end = run.start + run.count;
  while (sector < end) {
    while (gDisk.outstanding() >= run.depth) reapOne(run);
    uint32_t slot = 0;
    if (gDisk.acquire(slot) != 0) {
      reapOne(run);
      continue;
    }
    const uint64_t left = end - sector;
    const uint32_t n = left < blkif::kMaxSectors ? static_cast<uint32_t>(left) : blkif::kMaxSectors;
    if (op == BLKIF_OP_WRITE) {
      for (uint32_t i = 0; i < n; ++i)
        diskpattern::fill(gDisk.data(slot) + uint64_t{i} * blkif::kSectorBytes, run.seed, sector + i);
    }
    const long rc = gDisk.submit(slot, op, sector, n);
    if (rc != 0) fail(Line().str("blk: submitting ").str(blkif::opName(op)).str(" sector=").dec(sector).str(" rc=").sdec(rc));
    sector += n;
  }
  while (gDisk.outstanding() != 0) reapOne(run);
}

void flush(Run& run) {
  uint8_t op = 0;
  if (gDisk.info().flushCache) {
    op = BLKIF_OP_FLUSH_DISKCACHE;
    run.flush = "flush_diskcache";
  } else if (gDisk.info().barrier) {
    op = BLKIF_OP_WRITE_BARRIER;
    run.flush = "barrier";
  } else {
    return;  // a backend without either has no cache to flush (write-through)
  }
  uint32_t slot = 0;
  if (gDisk.acquire(slot) != 0) fail("blk: no free slot for the flush");
  const long rc = gDisk.submit(slot, op, 0, 0);
  if (rc != 0) fail(Line().str("blk: submitting ").str(run.flush).str(" rc=").sdec(rc));
  reapOne(run);
}

}  // namespace

void runBlk(const Cmdline& cmdline) {
  const Str mode = cmdline.value("mode", "rw");
  const bool writing = mode == "rw" || mode == "write";
  const bool reading = mode == "rw" || mode == "verify";
  if (!writing && !reading) fail(Line().str("mode= must be rw, write or verify, not '").str(mode).ch('\''));
  Run run{};
  run.start = cmdline.numberOrFail("start", 0);
  run.count = cmdline.numberOrFail("count", 256);
  run.seed = cmdline.numberOrFail("seed", 1);
  run.depth = cmdline.numberOrFail("depth", 4);
  const uint64_t timeoutMs = cmdline.numberOrFail("timeout_ms", 10000);
  const uint64_t persistent = cmdline.numberOrFail("persistent", 0);
  if (persistent > 1) fail("persistent= must be 0 or 1");
  if (run.count == 0 || run.count > (uint64_t{1} << 32)) fail("count= must be 1..2^32 sectors");
  if (run.depth == 0 || run.depth > Blkfront::kSlots) fail(Line().str("depth= must be 1..").dec(Blkfront::kSlots));
  if (timeoutMs == 0 || timeoutMs > 3600000) fail("timeout_ms= must be 1..3600000");
  run.timeoutNs = timeoutMs * xentime::kNsPerMs;

  events::init();
  xentime::require("blk");
  Line why;
  if (xenbus::init(why) != 0) fail(Line().str("blk: ").str(why.view()));
  xenbus::setTimeout(run.timeoutNs);
  if (gnttab::init(why) != 0) fail(Line().str("blk: ").str(why.view()));
  Blkfront::Options options;
  options.persistentGrants = persistent != 0;
  gDisk.configure(options);
  if (gDisk.connect(cmdline.value("vbd", ""), run.timeoutNs, why) != 0) fail(Line().str("blk: ").str(why.view()));
  const Blkfront::Info& info = gDisk.info();
  console::print(Line().str("blk: vbd ").dec(info.vbd).str(" backend ").str(Str(info.backend)).str(" (domain ")
                     .dec(info.backendId).str(") sectors=").dec(info.sectors).str(" sector_size=").dec(info.sectorSize)
                     .str(" info=").dec(info.info).str(" flush=").dec(info.flushCache ? 1 : 0)
                     .str(" barrier=").dec(info.barrier ? 1 : 0));
  const uint64_t align = info.sectorSize / blkif::kSectorBytes;
  if (run.start > info.sectors || run.count > info.sectors - run.start)
    fail(Line().str("blk: start=").dec(run.start).str(" count=").dec(run.count).str(" is beyond the disk's ").dec(info.sectors).str(" sectors"));
  if (run.start % align != 0 || run.count % align != 0)
    fail(Line().str("blk: start= and count= must be multiples of ").dec(align).str(" (sector-size ").dec(info.sectorSize).ch(')'));
  if (writing && (info.info & VDISK_READONLY) != 0) fail("blk: the disk is read-only (info has VDISK_READONLY)");

  if (writing) {
    pass(run, BLKIF_OP_WRITE);
    flush(run);
  }
  if (reading) pass(run, BLKIF_OP_READ);
  gDisk.close();

  Line line;
  line.str("RESULT blk mode=").str(mode).str(" vbd=").dec(info.vbd).str(" disk_sectors=").dec(info.sectors)
      .str(" sector_size=").dec(info.sectorSize).str(" start=").dec(run.start).str(" count=").dec(run.count)
      .str(" seed=").dec(run.seed).str(" written=").dec(run.written).str(" read=").dec(run.read)
      .str(" verified=").dec(run.verified).str(" mismatches=").dec(run.mismatches).str(" flush=").str(run.flush)
      .str(" requests=").dec(gDisk.requests()).str(" leaked_grants=").dec(gDisk.leakedGrants());
  if (persistent != 0) line.str(" persistent=1");
  console::print(line);
  if (run.mismatches != 0)
    fail(Line().str("blk: ").dec(run.mismatches).str(" sectors did not verify; first sector ").dec(run.firstBadSector)
             .str(" word ").dec(run.firstBadWord));
}
