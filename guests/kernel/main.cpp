// kernel_main: from the long-mode switch in pvh/entry.S to the workload.
#include "kernel/Cmdline.h"
#include "kernel/Console.h"
#include "kernel/ConsoleRing.h"
#include "kernel/Cpu.h"
#include "kernel/Events.h"
#include "kernel/Hypercall.h"
#include "kernel/Idt.h"
#include "kernel/MemoryMap.h"
#include "kernel/PerCpu.h"
#include "kernel/PhysAlloc.h"
#include "kernel/Shutdown.h"
#include "kernel/Tss.h"
#include "kernel/UserMode.h"
#include "kernel/Workload.h"
#include "kernel/Xen.h"
#include "pvh/StartInfo.h"

extern "C" char __image_start[], __image_end[];

namespace {

constexpr size_t kMaxReserved = 40;

void printBanner() {
  long version = xen::xenVersion(XENVER_version, nullptr);
  xen_extraversion_t extra{};
  if (xen::xenVersion(XENVER_extraversion, &extra) != 0) extra[0] = '\0';
  Line line;
  line.str("Smart-VM guest 0.1 (Xen ").dec((version >> 16) & 0xffff).ch('.').dec(version & 0xffff);
  line.str(Str(extra, strLengthMax(extra, sizeof(extra)))).ch(')');
  console::print(line);
}

void initMemory(const pvh::StartInfo& info) {
  if (!memoryMap().load(info)) fail("no memory map (neither start_info nor XENMEM_memory_map)");
  Range reserved[kMaxReserved];
  reserved[0] = Range{reinterpret_cast<uintptr_t>(__image_start), reinterpret_cast<uintptr_t>(__image_end)};
  size_t count = 1 + info.bootDataRanges(reserved + 1, kMaxReserved - 1);
  // The console and xenstore pages belong to their back ends even when the
  // hypervisor put them inside RAM: never hand them out.
  const uint32_t params[] = {HVM_PARAM_CONSOLE_PFN, HVM_PARAM_STORE_PFN};
  for (uint32_t param : params) {
    uint64_t pfn = 0;
    if (xen::getHvmParam(param, pfn) == 0 && pfn != 0 && count < kMaxReserved)
      reserved[count++] = Range{pfn * 4096, pfn * 4096 + 4096};
  }
  physAlloc().init(memoryMap(), reserved, count);
}

void runWorkload(const Cmdline& cmdline) {
  Str name = cmdline.value("workload", "pi");
  const Workload* workload = findWorkload(name);
  if (workload == nullptr) fail(Line().str("unknown workload '").str(name).ch('\''));
  if (workload->sliced != nullptr)
    runSliced(*workload->sliced, cmdline);
  else
    workload->runKernel(cmdline);
}

}  // namespace

extern "C" [[noreturn]] void kernel_main(uint32_t startInfoPaddr) {
  percpu::initBsp();
  idt::init();
  tss::init(0, user::trapStackTop());
  // Without Xen there is no console and no shutdown: stop quietly.
  if (!xen::init()) cpu::haltForever();
  // As a Xen guest does once its console is up: output through the ring.
  consolering::init();
  printBanner();
  pvh::StartInfo info(startInfoPaddr);
  if (!info.valid()) fail(Line().str("bad hvm_start_info magic ").hex(info.magic()));
  Cmdline cmdline(info.cmdline());
  console::print(Line().str("cmdline: ").str(cmdline.text()));
  initMemory(info);
  events::configure(cmdline);
  runWorkload(cmdline);
  powerOff();
}
