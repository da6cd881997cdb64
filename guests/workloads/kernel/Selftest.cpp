// selftest: hypercalls made from CPL0, each answer checked.
#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"
#include "kernel/MemoryMap.h"
#include "kernel/PhysAlloc.h"
#include "kernel/Shutdown.h"
#include "kernel/Xen.h"
#include "workloads/Workloads.h"
#include "workloads/kernel/Selftest.h"

namespace {

constexpr uint64_t kPage = 4096;
constexpr unsigned kUnknownHypercall = 63;
constexpr int kUnknownSchedOp = 1000;
constexpr uint64_t kNonCanonical = 0xdead000000000;
// Linux's HYPERVISOR_CALLBACK_VECTOR; nothing is delivered with IF=0.
constexpr uint64_t kCallbackVector = 0xf3;

bool versionMatchesCpuid(Line& d) {
  long version = xen::xenVersion(XENVER_version, nullptr);
  uint32_t cpuid = cpu::cpuid(xen::cpuidBase() + 1).eax;
  d.str("xen_version=").hex(static_cast<uint64_t>(version)).str(" cpuid=").hex(cpuid);
  return version == static_cast<long>(cpuid);
}

bool getFeatures(Line& d) {
  xen_feature_info info{};
  info.submap_idx = 0;
  long rc = xen::xenVersion(XENVER_get_features, &info);
  d.str("rc=").sdec(rc).str(" submap0=").hex(info.submap);
  return rc == 0;
}

bool sameRegion(const E820Entry& e, const MemoryRegion& r) {
  return e.addr == r.addr && e.size == r.size && e.type == r.type;
}

bool memoryMapMatchesStartInfo(Line& d) {
  E820Entry entries[MemoryMap::kMaxEntries];
  size_t count = 0;
  long rc = fetchXenMemoryMap(entries, MemoryMap::kMaxEntries, count);
  const MemoryMap& boot = memoryMap();
  d.str("rc=").sdec(rc).str(" entries=").dec(count).str(" start_info=").dec(boot.size());
  if (!boot.fromStartInfo()) d.str(" (start_info has none)");
  if (rc != 0 || count != boot.size()) return false;
  for (size_t i = 0; i < count; ++i) {
    if (sameRegion(entries[i], boot[i])) continue;
    d.str(" entry ").dec(i).str(" differs (20-byte E820 entries expected)");
    return false;
  }
  return true;
}

bool currentReservation(Line& d) {
  domid_t self = DOMID_SELF;
  long pages = xen::memoryOp(XENMEM_current_reservation, &self);
  d.str("pages=").sdec(pages).str(" memmap_ram_pages=").dec(memoryMap().ramBytes() / kPage);
  return pages > 0;
}

bool mapSharedInfo(Line& d) {
  void* page = physAlloc().alloc(kPage);
  if (page == nullptr) {
    d.str("no free page");
    return false;
  }
  // A pattern the real shared_info cannot show, to see the mapping change.
  memset(page, 0xaa, kPage);
  xen_add_to_physmap request{};
  request.domid = DOMID_SELF;
  request.space = XENMAPSPACE_shared_info;
  request.idx = 0;
  request.gpfn = reinterpret_cast<uintptr_t>(page) / kPage;
  long rc = xen::memoryOp(XENMEM_add_to_physmap, &request);
  d.str("rc=").sdec(rc).str(" gpfn=").hex(request.gpfn);
  if (rc != 0) return false;
  auto* info = static_cast<volatile shared_info*>(page);
  uint8_t mask = info->vcpu_info[0].evtchn_upcall_mask;
  d.str(" vcpu0.evtchn_upcall_mask=").dec(mask);
  return mask <= 1;
}

long getParam(uint32_t index, uint64_t& value) {
  xen_hvm_param param{};
  param.domid = DOMID_SELF;
  param.index = index;
  long rc = xen::hvmOp(HVMOP_get_param, &param);
  value = param.value;
  return rc;
}

long setParam(uint32_t index, uint64_t value) {
  xen_hvm_param param{};
  param.domid = DOMID_SELF;
  param.index = index;
  param.value = value;
  return xen::hvmOp(HVMOP_set_param, &param);
}

bool getCallbackIrq(Line& d) {
  uint64_t value = 0;
  long rc = getParam(HVM_PARAM_CALLBACK_IRQ, value);
  d.str("rc=").sdec(rc).str(" value=").hex(value);
  return rc == 0;
}

bool setCallbackIrq(Line& d) {
  uint64_t old = 0, got = 0;
  const uint64_t want = (uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56) | kCallbackVector;
  long rcOld = getParam(HVM_PARAM_CALLBACK_IRQ, old);
  long rcSet = setParam(HVM_PARAM_CALLBACK_IRQ, want);
  long rcGet = getParam(HVM_PARAM_CALLBACK_IRQ, got);
  long rcRestore = setParam(HVM_PARAM_CALLBACK_IRQ, old);
  d.str("set rc=").sdec(rcSet).str(" get rc=").sdec(rcGet).str(" value=").hex(got).str(" restore rc=").sdec(rcRestore);
  return rcOld == 0 && rcSet == 0 && rcGet == 0 && rcRestore == 0 && got == want;
}

bool runstateRunning(Line& d) {
  vcpu_runstate_info info{};
  info.state = -1;
  long rc = xen::vcpuOp(VCPUOP_get_runstate_info, 0, &info);
  d.str("rc=").sdec(rc).str(" state=").sdec(info.state);
  return rc == 0 && info.state == RUNSTATE_running;
}

bool unknownHypercall(Line& d) {
  long rc = xen::hypercall<kUnknownHypercall>();
  d.str("hypercall ").dec(kUnknownHypercall).str(" rc=").sdec(rc);
  return rc == -XEN_ENOSYS;
}

bool consoleBadPointer(Line& d) {
  long rc = xen::consoleWrite(reinterpret_cast<const char*>(kNonCanonical), 16);
  d.str("rc=").sdec(rc);
  return rc == -XEN_EFAULT;
}

bool schedOpUnknown(Line& d) {
  long rc = xen::schedOp(kUnknownSchedOp, nullptr);
  d.str("cmd=").dec(kUnknownSchedOp).str(" rc=").sdec(rc);
  return rc == -XEN_ENOSYS || rc == -XEN_EINVAL;
}

const SelftestCheck kChecks[] = {
    {"xen_version_matches_cpuid", versionMatchesCpuid},
    {"get_features", getFeatures},
    {"memory_map_matches_start_info", memoryMapMatchesStartInfo},
    {"current_reservation", currentReservation},
    {"add_to_physmap_shared_info", mapSharedInfo},
    {"hvm_get_param_callback_irq", getCallbackIrq},
    {"hvm_set_param_callback_irq", setCallbackIrq},
    {"vcpu_runstate_running", runstateRunning},
    {"unknown_hypercall_enosys", unknownHypercall},
    {"console_io_bad_pointer_efault", consoleBadPointer},
    {"sched_op_unknown_cmd", schedOpUnknown},
};

void runSuite(const SelftestSuite& suite, uint64_t& passed, uint64_t& failed) {
  for (size_t i = 0; i < suite.count; ++i) {
    const SelftestCheck& check = suite.checks[i];
    Line detail;
    bool ok = check.run(detail);
    ok ? ++passed : ++failed;
    console::print(Line().str("check ").str(check.name).str(ok ? ": ok (" : ": FAILED (").str(detail.view()).ch(')'));
  }
}

}  // namespace

const SelftestSuite kBaseSuite = {"base", kChecks, sizeof(kChecks) / sizeof(kChecks[0])};

void runSelftest(const Cmdline& cmdline) {
  const Str suite = cmdline.value("suite", "base");
  const bool all = suite == "all";
  if (!all && !(suite == kBaseSuite.name) && !(suite == kEventsSuite.name))
    fail(Line().str("suite= must be base, events or all, not '").str(suite).ch('\''));
  uint64_t passed = 0, failed = 0;
  // base first: its shared_info check moves shared_info, events::init() moves it again.
  if (all || suite == kBaseSuite.name) runSuite(kBaseSuite, passed, failed);
  if (all || suite == kEventsSuite.name) runSuite(kEventsSuite, passed, failed);
  console::print(Line().str("RESULT selftest passed=").dec(passed).str(" failed=").dec(failed));
  if (failed != 0) fail(Line().str("selftest: ").dec(failed).str(" check(s) failed"));
}
