// The workload registry: add a row to add a workload.
#include "kernel/Workload.h"
#include "workloads/Workloads.h"

namespace {

const Workload kWorkloads[] = {
    {"pi", nullptr, &kPiWorkload},
    {"dot", nullptr, &kDotWorkload},
    {"selftest", runSelftest, nullptr},
    {"poke", runPoke, nullptr},
    {"hcbench", runHcBench, nullptr},
    {"triplefault", runTripleFault, nullptr},
    {"idle", runIdle, nullptr},
    {"spin", runSpin, nullptr},
    {"pingpong", runPingPong, nullptr},
    {"timer", runTimer, nullptr},
    {"apictimer", runApicTimer, nullptr},
    {"ipi", runIpi, nullptr},
    {"wait", runWait, nullptr},
    {"flood", runFlood, nullptr},
    {"par", runPar, nullptr},
    {"blk", runBlk, nullptr},
    {"blkbench", runBlkBench, nullptr},
    {"xenstore", runXenstore, nullptr},
    {"echo", runEcho, nullptr},
    {"pvcontrol", runPvControl, nullptr},
};

}  // namespace

const Workload* findWorkload(Str name) {
  for (const Workload& w : kWorkloads) {
    if (name == Str(w.name)) return &w;
  }
  return nullptr;
}
