// Runs a sliced workload: every slice and the final combine at CPL3, one
// after the other on this vCPU. `slices=` (default 1) splits the work the way
// several vCPUs will, so the combine path is exercised already.
#include "kernel/Console.h"
#include "kernel/PhysAlloc.h"
#include "kernel/Shutdown.h"
#include "kernel/UserMode.h"
#include "kernel/Workload.h"

namespace {

constexpr uint64_t kMaxSlices = 64;

struct SliceCall {
  const SlicedWorkload* workload;
  const Job* job;
  uint32_t phase;
  uint64_t begin, end;
  Partial out;
};

struct FinishCall {
  const SlicedWorkload* workload;
  Job* job;
  const Partial* parts;
  uint64_t count;
};

constinit Job gJob{};
constinit Partial gParts[kMaxSlices]{};

void sliceAtUser(void* arg) {
  auto* call = static_cast<SliceCall*>(arg);
  call->out = call->workload->slice(*call->job, call->phase, call->begin, call->end);
}

void finishAtUser(void* arg) {
  auto* call = static_cast<FinishCall*>(arg);
  Partial total = call->parts[0];
  for (uint64_t i = 1; i < call->count; ++i) total = call->workload->combine(total, call->parts[i]);
  call->workload->report(*call->job, total);
}

void reserveMemory(Job& job, const SlicedWorkload& workload) {
  job.memory = nullptr;
  if (workload.bytesPerUnit == 0) return;
  uint64_t bytes = job.units * workload.bytesPerUnit;
  bool overflow = bytes / workload.bytesPerUnit != job.units;
  if (!overflow) job.memory = physAlloc().alloc(bytes);
  if (job.memory != nullptr) return;
  Line why;
  why.str("not enough free RAM: ").str(workload.units.key).ch('=').dec(job.units).str(" needs ");
  if (overflow)
    why.str("over 2^64 bytes, ");
  else
    why.dec((bytes + (1 << 20) - 1) >> 20).str(" MiB, ");
  why.dec(physAlloc().freeBytes() >> 20).str(" MiB free");
  fail(why);
}

void prepare(Job& job, const SlicedWorkload& workload, const Cmdline& cmdline) {
  job.units = cmdline.numberOrFail(workload.units.key, workload.units.def);
  if (job.units == 0) fail(Line().str(workload.units.key).str("= must be at least 1"));
  for (unsigned i = 0; i < kMaxParams; ++i) {
    const ParamSpec& p = workload.params[i];
    job.param[i] = p.key != nullptr ? cmdline.numberOrFail(p.key, p.def) : 0;
  }
  job.result.clear();
  reserveMemory(job, workload);
}

/// Start of slice s of count: units split as evenly as possible.
uint64_t sliceStart(uint64_t units, uint64_t s, uint64_t count) {
  uint64_t extra = units % count;
  return s * (units / count) + (s < extra ? s : extra);
}

uint64_t sliceCount(const Cmdline& cmdline, uint64_t units) {
  uint64_t n = cmdline.numberOrFail("slices", 1);
  if (n == 0 || n > kMaxSlices) fail(Line().str("slices= must be 1..").dec(kMaxSlices));
  return n < units ? n : units;
}

}  // namespace

void runSliced(const SlicedWorkload& workload, const Cmdline& cmdline) {
  Job& job = gJob;
  prepare(job, workload, cmdline);
  uint64_t count = sliceCount(cmdline, job.units);
  for (uint32_t phase = 0; phase < workload.phases; ++phase) {
    for (uint64_t s = 0; s < count; ++s) {
      SliceCall call{&workload, &job, phase, sliceStart(job.units, s, count),
                     sliceStart(job.units, s + 1, count), {}};
      user::run(sliceAtUser, &call);
      gParts[s] = call.out;
    }
  }
  FinishCall finish{&workload, &job, gParts, count};
  user::run(finishAtUser, &finish);
  console::print(job.result);
}
