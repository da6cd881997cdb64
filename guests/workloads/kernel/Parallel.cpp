// par: a parallel job split across vCPUs, for the scheduler benchmark.
// vCPU 0 prepares the job (at CPL3), brings up the other vCPUs, runs
// `serial` serial tasks alone, then `tasks` parallel tasks one after another.
// Each task is its own parallel phase (SMARTVM_PARALLEL_begin .. end on every
// vCPU) of `layers` layers: every vCPU runs its share of the layer at CPL3, the
// scheduler hint SMARTVM_PARALLEL_layer_done, and a barrier. The barrier is an
// atomic counter; the last vCPU to arrive bumps the generation and wakes the
// others through their IPI event channels, which wait in SCHEDOP_block
// (events::waitFor), never spinning. The CPL0 part is kept short: the host
// emulates it at ~4M instructions/s; results are printed only after the last
// task, one TASK par line per task and the RESULT par line.
#include <smartvm/abi/sched_parallel.h>

#include "kernel/Console.h"
#include "kernel/Events.h"
#include "kernel/Hypercall.h"
#include "kernel/PhysAlloc.h"
#include "kernel/Shutdown.h"
#include "kernel/Smp.h"
#include "kernel/UserMode.h"
#include "kernel/XenTime.h"
#include "workloads/Parallel.h"
#include "workloads/Workloads.h"

namespace {

using par::Job;
using par::State;

constexpr uint64_t kDefaultLayers = 4;
constexpr uint64_t kMaxLayers = 1000000;
constexpr uint64_t kMaxSerial = 64;
constexpr uint64_t kMaxTasks = 64;
constexpr uint64_t kDefaultSerialSteps = 10000000;

/// One vCPU's bookkeeping, on its own cache line.
struct alignas(64) Slot {
  uint64_t userStackTop;  // APs: their CPL3 stack (vCPU 0 uses the boot one)
  uint32_t port;          // its IPI port, 0 until bound
  long error;             // an AP's failed bind
  uint64_t hintCalls, hintOk, hintEnosys;
  uint64_t workNs;  // Xen time spent in this vCPU's CPL3 shares
};

struct Shared {
  const Job* job;
  uint32_t vcpus;
  uint32_t tasks;
  uint32_t released;  // parallel tasks vCPU 0 has released the APs into
  uint32_t ended;     // APs' end hints so far, summed over tasks
  alignas(64) uint32_t arrived;  // at the current barrier
  alignas(64) uint32_t generation;  // barriers passed
  Slot slot[MAX_CPUS];
};

/// One parallel task's outcome, kept until every task is done so that no
/// console output (formatted at emulated CPL0) falls between two tasks.
struct TaskResult {
  uint64_t ns;         // vCPU 0: release of the APs to passing the last barrier
  uint64_t hintCalls;  // this task's begin + layer_done + end, all vCPUs
  bool agrees;         // value is the first task's (they compute the same thing)
  Line value;
};

constinit State gState{};
constinit Shared gShared{};
constinit TaskResult gTask[kMaxTasks]{};

// ---- CPL3 calls.

struct WorkCall {
  const Job* job;
  State* state;
  uint32_t cpu, layer;
};

struct FinishCall {
  State* state;
  uint32_t task;
};

void setupAtUser(void* arg) { gShared.job->setup(*static_cast<State*>(arg)); }
void startAtUser(void* arg) { gShared.job->start(*static_cast<State*>(arg)); }
void finishAtUser(void* arg) {
  auto* c = static_cast<FinishCall*>(arg);
  State& s = *c->state;
  s.value.clear();
  gShared.job->finish(s);
  TaskResult& t = gTask[c->task];
  t.value = s.value;
  t.agrees = t.value.view() == gTask[0].value.view();
}
void serialAtUser(void* arg) { par::serialTask(*static_cast<State*>(arg)); }
void workAtUser(void* arg) {
  auto* c = static_cast<WorkCall*>(arg);
  c->job->work(*c->state, c->cpu, c->layer);
}

void runAtUser(uint32_t cpu, user::Task task, void* arg) {
  if (cpu == 0)
    user::run(task, arg);
  else
    user::run(task, arg, gShared.slot[cpu].userStackTop);
}

// ---- scheduler hints.

const char* opName(uint32_t op) {
  switch (op) {
    case SMARTVM_PARALLEL_begin: return "begin";
    case SMARTVM_PARALLEL_end: return "end";
    default: return "layer_done";
  }
}

/// SMARTVM_SCHEDOP_parallel for the calling vCPU: 0 and -ENOSYS are counted,
/// anything else ends the guest.
void hint(uint32_t cpu, uint32_t op) {
  smartvm_sched_parallel p{};
  p.op = op;
  const long rc = xen::schedOp(SMARTVM_SCHEDOP_parallel, &p);
  Slot& s = gShared.slot[cpu];
  ++s.hintCalls;
  if (rc == 0)
    ++s.hintOk;
  else if (rc == -XEN_ENOSYS)
    ++s.hintEnosys;
  else
    fail(Line().str("par: vCPU ").dec(cpu).str(" SMARTVM_SCHEDOP_parallel op=").str(opName(op)).str(" rc=").sdec(rc));
}

// ---- barrier and layers.

void wake(uint32_t port) {
  const long rc = events::send(port);
  if (rc != 0) fail(Line().str("par: EVTCHNOP_send(").dec(port).str(") rc=").sdec(rc));
}

void barrier(uint32_t cpu) {
  Shared& sh = gShared;
  if (sh.vcpus == 1) return;
  const uint32_t gen = loadShared(sh.generation);  // cannot move on before we arrive
  if (__atomic_add_fetch(&sh.arrived, 1u, __ATOMIC_ACQ_REL) == sh.vcpus) {
    storeShared(sh.arrived, 0u);
    storeShared(sh.generation, gen + 1);
    for (uint32_t k = 0; k < sh.vcpus; ++k)
      if (k != cpu) wake(sh.slot[k].port);
  } else {
    events::waitFor([&] { return loadShared(sh.generation) != gen; });
  }
}

void runLayers(uint32_t cpu) {
  State& st = gState;
  hint(cpu, SMARTVM_PARALLEL_begin);
  for (uint32_t layer = 0; layer < st.layers; ++layer) {
    WorkCall call{gShared.job, &st, cpu, layer};
    const uint64_t w0 = xentime::now();
    runAtUser(cpu, workAtUser, &call);
    gShared.slot[cpu].workNs += xentime::now() - w0;
    hint(cpu, SMARTVM_PARALLEL_layer_done);
    barrier(cpu);
  }
  hint(cpu, SMARTVM_PARALLEL_end);
}

long bindOwnIpi(uint32_t cpu, uint32_t& port) {
  long rc = events::bindIpi(cpu, port);
  if (rc == 0) rc = events::bind(port, cpu);
  return rc;
}

void parAp(PerCpu& c) {
  Shared& sh = gShared;
  uint32_t port = 0;
  if (long rc = bindOwnIpi(c.id, port)) {
    storeShared(sh.slot[c.id].error, rc);
    return;
  }
  storeShared(sh.slot[c.id].port, port);
  for (uint32_t t = 0; t < sh.tasks; ++t) {
    events::waitFor([&] { return loadShared(sh.released) > t; });
    runLayers(c.id);
    if (__atomic_add_fetch(&sh.ended, 1u, __ATOMIC_ACQ_REL) == (t + 1) * (sh.vcpus - 1)) wake(sh.slot[0].port);
  }
}

// ---- setup on vCPU 0.

const Job* findJob(Str name) {
  for (const Job* j = par::kJobs; j->name != nullptr; ++j)
    if (name == Str(j->name)) return j;
  return nullptr;
}

/// RAM the job needs (integer arithmetic only: this is CPL0). 0 = none;
/// ~0 = the size overflows.
uint64_t bytesFor(Str job, uint64_t size) {
  uint64_t perUnit = 0, units = size;
  if (job == Str("pi")) {
    units = (size + par::kPiBlock - 1) / par::kPiBlock;
    perUnit = sizeof(double);
  } else if (job == Str("dot")) {
    perUnit = 2 * sizeof(uint64_t);
  } else if (job == Str("nbody")) {
    perUnit = par::kNbodyDoubles * sizeof(double);
  }
  if (perUnit == 0) return 0;
  const uint64_t bytes = units * perUnit;
  return bytes / perUnit == units ? bytes : ~uint64_t{0};
}

void* allocOrFail(uint64_t bytes, Str what) {
  void* p = bytes == ~uint64_t{0} ? nullptr : physAlloc().alloc(bytes);
  if (p == nullptr)
    fail(Line().str("par: not enough free RAM for ").str(what).str(" (").dec(physAlloc().freeBytes() >> 20).str(" MiB free)"));
  return p;
}

void prepare(const Cmdline& cmdline) {
  Shared& sh = gShared;
  State& st = gState;
  const Str name = cmdline.value("job", "");
  sh.job = findJob(name);
  if (sh.job == nullptr) fail(Line().str("par: unknown job '").str(name).str("' (dot, pi, rc4, nbody)"));
  sh.vcpus = smp::vcpusFromCmdline(cmdline);
  const uint64_t layers = cmdline.numberOrFail("layers", kDefaultLayers);
  if (layers == 0 || layers > kMaxLayers) fail(Line().str("par: layers= must be 1..").dec(kMaxLayers));
  const uint64_t serial = cmdline.numberOrFail("serial", 0);
  if (serial > kMaxSerial) fail(Line().str("par: serial= must be 0..").dec(kMaxSerial));
  const uint64_t tasks = cmdline.numberOrFail("tasks", 1);
  if (tasks == 0 || tasks > kMaxTasks) fail(Line().str("par: tasks= must be 1..").dec(kMaxTasks));
  sh.tasks = static_cast<uint32_t>(tasks);
  st.vcpus = sh.vcpus;
  st.layers = static_cast<uint32_t>(layers);
  st.size = cmdline.numberOrFail(sh.job->sizeKey, sh.job->sizeDef);
  if (st.size == 0) fail(Line().str("par: ").str(sh.job->sizeKey).str("= must be at least 1"));
  if (name == Str("rc4") && st.size > par::kRc4MaxKeys)
    fail(Line().str("par: keys= must be 1..").dec(par::kRc4MaxKeys).str(" (3-byte keys)"));
  st.seed = cmdline.numberOrFail("seed", 1);
  st.serialSteps = cmdline.numberOrFail("serial_steps", kDefaultSerialSteps);
  if (st.serialSteps == 0) fail("par: serial_steps= must be at least 1");
  st.memory = nullptr;
  if (const uint64_t bytes = bytesFor(name, st.size)) st.memory = allocOrFail(bytes, sh.job->sizeKey);
  for (uint32_t id = 1; id < sh.vcpus; ++id)
    sh.slot[id].userStackTop = reinterpret_cast<uintptr_t>(allocOrFail(USER_STACK_SIZE, "user stacks")) + USER_STACK_SIZE;
}

void startAps() {
  Shared& sh = gShared;
  for (uint32_t id = 1; id < sh.vcpus; ++id) {
    Line why;
    if (!smp::startAp(id, parAp, nullptr, why)) fail(Line().str("par: ").str(why.view()));
  }
  for (uint32_t id = 1; id < sh.vcpus; ++id) {
    Slot& s = sh.slot[id];
    if (!smp::yieldUntil([&] { return loadShared(s.port) != 0 || loadShared(s.error) != 0; }))
      fail(Line().str("par: vCPU ").dec(id).str(" did not bind its IPI port"));
    if (long rc = loadShared(s.error)) fail(Line().str("par: vCPU ").dec(id).str(" EVTCHNOP_bind_ipi/unmask rc=").sdec(rc));
  }
}

uint64_t hintCallsSoFar() {
  uint64_t calls = 0;
  for (uint32_t id = 0; id < gShared.vcpus; ++id) calls += gShared.slot[id].hintCalls;
  return calls;
}

/// Parallel task `t` as one phase: vCPU 0 releases the APs, all run the
/// layers, and vCPU 0 waits for every AP's end hint before anything else, so
/// that phases never overlap and each task's hint count is exact.
void runTask(uint32_t t) {
  Shared& sh = gShared;
  State& st = gState;
  const uint64_t callsBefore = hintCallsSoFar();
  user::run(startAtUser, &st);
  const uint64_t t0 = xentime::now();
  storeShared(sh.released, t + 1);
  for (uint32_t id = 1; id < sh.vcpus; ++id) wake(sh.slot[id].port);
  runLayers(0);
  gTask[t].ns = xentime::now() - t0;
  events::waitFor([&] { return loadShared(sh.ended) == (t + 1) * (sh.vcpus - 1); });
  gTask[t].hintCalls = hintCallsSoFar() - callsBefore;
  FinishCall call{&st, t};
  user::run(finishAtUser, &call);
}

void printTasks() {
  for (uint32_t t = 0; t < gShared.tasks; ++t) {
    const TaskResult& r = gTask[t];
    Line line;
    line.str("TASK par task=").dec(t + 1).str(" tasks=").dec(gShared.tasks).str(" task_ns=").dec(r.ns);
    line.str(" hint_calls=").dec(r.hintCalls).str(" agrees=").dec(r.agrees ? 1 : 0);
    line.str(" value=").str(r.value.view());
    console::print(line);
  }
}

bool allAgree() {
  for (uint32_t t = 0; t < gShared.tasks; ++t)
    if (!gTask[t].agrees) return false;
  return true;
}

void printResult(uint64_t serial, uint64_t t0, uint64_t t1, uint64_t t2) {
  const Shared& sh = gShared;
  const State& st = gState;
  uint64_t calls = 0, ok = 0, enosys = 0;
  for (uint32_t id = 0; id < sh.vcpus; ++id) {
    calls += sh.slot[id].hintCalls;
    ok += sh.slot[id].hintOk;
    enosys += sh.slot[id].hintEnosys;
  }
  Line line;
  line.str("RESULT par job=").str(sh.job->name).str(" vcpus=").dec(sh.vcpus).str(" layers=").dec(st.layers);
  line.str(" tasks=").dec(sh.tasks).str(" values_agree=").dec(allAgree() ? 1 : 0);
  line.str(" value=").str(gTask[0].value.view());
  line.str(" serial_ns=").dec(t1 - t0).str(" parallel_ns=").dec(t2 - t1).str(" total_ns=").dec(t2 - t0);
  line.str(" hint_rc=");
  if (ok == calls)
    line.dec(0);
  else if (enosys == calls)
    line.sdec(-XEN_ENOSYS);
  else
    line.str("mixed");
  line.str(" work_ns=");
  for (uint32_t id = 0; id < sh.vcpus; ++id) (id ? line.ch(',') : line).dec(sh.slot[id].workNs);
  line.str(" hint_calls=").dec(calls).str(" hint_enosys=").dec(enosys);
  line.str(" serial=").dec(serial).str(" ").str(sh.job->sizeKey).ch('=').dec(st.size);
  console::print(line);
}

}  // namespace

void runPar(const Cmdline& cmdline) {
  Shared& sh = gShared;
  State& st = gState;
  prepare(cmdline);
  events::init();
  xentime::require("par");
  user::run(setupAtUser, &st);
  if (sh.vcpus > 1) {
    uint32_t port = 0;
    if (long rc = bindOwnIpi(0, port)) fail(Line().str("par: EVTCHNOP_bind_ipi/unmask on vCPU 0 rc=").sdec(rc));
    sh.slot[0].port = port;
    startAps();
  }

  const uint64_t serial = cmdline.numberOrFail("serial", 0);
  const uint64_t t0 = xentime::now();
  for (uint64_t k = 0; k < serial; ++k) user::run(serialAtUser, &st);
  const uint64_t t1 = xentime::now();
  for (uint32_t t = 0; t < sh.tasks; ++t) runTask(t);
  const uint64_t t2 = xentime::now();
  printTasks();
  printResult(serial, t0, t1, t2);
}
