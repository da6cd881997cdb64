// Entry points of every workload, for the registry in kernel/Workloads.cpp.
#pragma once
#include "kernel/Workload.h"

// CPL3 (sliced) workloads.
extern const SlicedWorkload kPiWorkload;
extern const SlicedWorkload kDotWorkload;

// CPL0 workloads.
void runSelftest(const Cmdline& cmdline);
void runPoke(const Cmdline& cmdline);
void runHcBench(const Cmdline& cmdline);
void runTripleFault(const Cmdline& cmdline);
void runIdle(const Cmdline& cmdline);
void runSpin(const Cmdline& cmdline);
void runPingPong(const Cmdline& cmdline);
void runTimer(const Cmdline& cmdline);
void runApicTimer(const Cmdline& cmdline);
void runIpi(const Cmdline& cmdline);
void runWait(const Cmdline& cmdline);
void runFlood(const Cmdline& cmdline);
void runPar(const Cmdline& cmdline);  // workload=par, see workloads/Parallel.h
void runBlk(const Cmdline& cmdline);
void runBlkBench(const Cmdline& cmdline);  // workload=blkbench, for smartvm-blk-bench
void runXenstore(const Cmdline& cmdline);
void runEcho(const Cmdline& cmdline);
void runPvControl(const Cmdline& cmdline);

// CPL3 helpers of CPL0 workloads.
[[noreturn]] void spinForever(void* unused);
