#include "kernel/PerCpu.h"

#include "kernel/Cpu.h"

namespace percpu {
namespace {

constinit PerCpu gCpus[MAX_CPUS]{};

}  // namespace

PerCpu& cpu(uint32_t id) { return gCpus[id < MAX_CPUS ? id : 0]; }

void setGsBase(PerCpu& c) {
  c.self = &c;
  cpu::wrmsr(MSR_GS_BASE, reinterpret_cast<uintptr_t>(&c));
}

void initBsp() {
  PerCpu& c = gCpus[0];
  c.id = 0;
  c.online = 1;
  setGsBase(c);
}

}  // namespace percpu
