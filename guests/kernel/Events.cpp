#include "kernel/Events.h"

#include <xen/arch-x86/cpuid.h>

#include "kernel/Console.h"
#include "kernel/Cpu.h"
#include "kernel/Hypercall.h"
#include "kernel/Idt.h"
#include "kernel/Lapic.h"
#include "kernel/PhysAlloc.h"
#include "kernel/Shutdown.h"
#include "kernel/Xen.h"

extern "C" {
void upcall_entry();
void spurious_entry();
}

namespace events {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kAllWords = EVTCHN_2L_NR_CHANNELS / 64;

struct PortSlot {
  Handler handler;
  void* arg;
  uint64_t count;
};

constinit shared_info* gShared = nullptr;
constinit Delivery gDelivery = Delivery::None;
constinit PortSlot gPorts[kMaxPorts]{};
constinit bool gPollOnly = false;
constinit bool gIdleHlt = false;
enum class Want { Auto, PerVcpu, Callback };
constinit Want gWant = Want::Auto;

uint64_t bitOf(uint32_t port) { return uint64_t{1} << (port % 64); }

bool upcallPending(const PerCpu& c) { return __atomic_load_n(&c.vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) != 0; }

void dispatch(uint32_t port) {
  PortSlot& slot = gPorts[port];
  __atomic_fetch_add(&slot.count, 1, __ATOMIC_RELEASE);
  if (slot.handler != nullptr) slot.handler(port, slot.arg);
}

// Linux's __xen_evtchn_do_upcall + evtchn_2l_handle_events, without the
// fairness bookkeeping: clear the upcall flag, take the selector, and for each
// word handle the ports that are pending, unmasked and bound to this vCPU.
void handleUpcall(PerCpu& c) {
  vcpu_info* vi = c.vi;
  do {
    __atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    xen_ulong_t words = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (words != 0) {
      const unsigned w = cpu::lowestBit(words);
      words &= words - 1;
      if (w >= kPortWords) continue;  // untracked ports stay masked
      xen_ulong_t bits = __atomic_load_n(&gShared->evtchn_pending[w], __ATOMIC_ACQUIRE) &
                         ~__atomic_load_n(&gShared->evtchn_mask[w], __ATOMIC_ACQUIRE) &
                         __atomic_load_n(&c.ports[w], __ATOMIC_ACQUIRE);
      while (bits != 0) {
        const unsigned b = cpu::lowestBit(bits);
        bits &= bits - 1;
        __atomic_fetch_and(&gShared->evtchn_pending[w], ~(xen_ulong_t{1} << b), __ATOMIC_SEQ_CST);
        dispatch(w * 64 + b);
      }
    }
  } while (upcallPending(c));
}

void bump(uint64_t& counter) { __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED); }

long setUpcallVector(uint32_t vcpu) {
  xen_hvm_evtchn_upcall_vector op{};
  op.vcpu = vcpu;
  op.vector = kUpcallVector;
  return xen::hvmOp(HVMOP_set_evtchn_upcall_vector, &op);
}

long setCallbackVector() {
  xen_hvm_param param{};
  param.domid = DOMID_SELF;
  param.index = HVM_PARAM_CALLBACK_IRQ;
  param.value = (uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56) | kUpcallVector;
  return xen::hvmOp(HVMOP_set_param, &param);
}

bool cpuidOffersUpcallVector() {
  const uint32_t base = xen::cpuidBase();
  if (cpu::cpuid(base).eax < base + 4) return false;
  return (cpu::cpuid(base + 4).eax & XEN_HVM_CPUID_UPCALL_VECTOR) != 0;
}

// As Linux: the per-vCPU vector when CPUID offers it and vCPU 0 takes it,
// otherwise the domain-wide callback vector.
Delivery chooseDelivery() {
  long perVcpu = -XEN_ENOSYS;
  if (gWant != Want::Callback && cpuidOffersUpcallVector()) {
    perVcpu = setUpcallVector(0);
    if (perVcpu == 0) return Delivery::PerVcpuVector;
  }
  if (gWant == Want::PerVcpu)
    fail(Line().str("events: upcall=vcpu but no per-vCPU upcall vector (CPUID ")
             .str(cpuidOffersUpcallVector() ? "offers it" : "does not offer it").str(", rc=").sdec(perVcpu).ch(')'));
  long callback = setCallbackVector();
  if (callback == 0) return Delivery::CallbackVector;
  console::print(Line().str("events: no upcall vector (set_evtchn_upcall_vector rc=").sdec(perVcpu)
                     .str(", HVM_PARAM_CALLBACK_IRQ rc=").sdec(callback).str("); polling only"));
  return Delivery::None;
}

void mapSharedInfo() {
  void* page = physAlloc().alloc(kPage);
  if (page == nullptr) fail("events: no free page for shared_info");
  xen_add_to_physmap request{};
  request.domid = DOMID_SELF;
  request.space = XENMAPSPACE_shared_info;
  request.idx = 0;
  request.gpfn = reinterpret_cast<uintptr_t>(page) / kPage;
  long rc = xen::memoryOp(XENMEM_add_to_physmap, &request);
  if (rc != 0) fail(Line().str("events: XENMEM_add_to_physmap(shared_info) rc=").sdec(rc));
  gShared = static_cast<shared_info*>(page);
}

}  // namespace

void configure(const Cmdline& cmdline) {
  const Str idle = cmdline.value("idle", "block");
  if (idle == "hlt")
    gIdleHlt = true;
  else if (!(idle == "block"))
    fail(Line().str("idle= must be block or hlt, not '").str(idle).ch('\''));
  const Str mode = cmdline.value("upcall", "auto");
  if (mode == "poll")
    gPollOnly = true;
  else if (mode == "vcpu")
    gWant = Want::PerVcpu;
  else if (mode == "callback")
    gWant = Want::Callback;
  else if (!(mode == "auto"))
    fail(Line().str("upcall= must be auto, vcpu, callback or poll, not '").str(mode).ch('\''));
}

void init() {
  if (gShared != nullptr) return;
  mapSharedInfo();
  // Linux's xen_evtchn_mask_all: nothing is delivered until bound.
  for (uint32_t w = 0; w < kAllWords; ++w) __atomic_store_n(&gShared->evtchn_mask[w], ~xen_ulong_t{0}, __ATOMIC_SEQ_CST);
  idt::setGate(kUpcallVector, upcall_entry);
  idt::setGate(lapic::kSpuriousVector, spurious_entry);
  PerCpu& c = thisCpu();
  c.vi = &gShared->vcpu_info[c.id];
  // The LAPIC drops fixed interrupts while software-disabled.
  lapic::enable();
  gDelivery = chooseDelivery();
}

bool ready() { return gShared != nullptr; }

Delivery delivery() { return gDelivery; }

const char* deliveryName() {
  switch (gDelivery) {
    case Delivery::PerVcpuVector: return "vcpu_vector";
    case Delivery::CallbackVector: return "callback_vector";
    case Delivery::None: break;
  }
  return "none";
}

void initCpu(PerCpu& c) {
  c.vi = &gShared->vcpu_info[c.id];
  lapic::enable();
  if (gDelivery == Delivery::PerVcpuVector) {
    long rc = setUpcallVector(c.id);
    if (rc != 0) fail(Line().str("events: HVMOP_set_evtchn_upcall_vector(vcpu ").dec(c.id).str(") rc=").sdec(rc));
  }
}

shared_info* sharedInfo() { return gShared; }

long bind(uint32_t port, uint32_t cpu, Handler handler, void* arg) {
  if (port >= kMaxPorts || cpu >= MAX_CPUS) return -XEN_EINVAL;
  PortSlot& slot = gPorts[port];
  slot.handler = handler;
  slot.arg = arg;
  for (uint32_t i = 0; i < MAX_CPUS; ++i) __atomic_fetch_and(&percpu::cpu(i).ports[port / 64], ~bitOf(port), __ATOMIC_SEQ_CST);
  __atomic_fetch_or(&percpu::cpu(cpu).ports[port / 64], bitOf(port), __ATOMIC_SEQ_CST);
  return unmask(port);
}

void unbind(uint32_t port) {
  if (port >= kMaxPorts) return;
  mask(port);
  for (uint32_t i = 0; i < MAX_CPUS; ++i) __atomic_fetch_and(&percpu::cpu(i).ports[port / 64], ~bitOf(port), __ATOMIC_SEQ_CST);
}

uint64_t count(uint32_t port) { return port < kMaxPorts ? __atomic_load_n(&gPorts[port].count, __ATOMIC_ACQUIRE) : 0; }

void mask(uint32_t port) { __atomic_fetch_or(&gShared->evtchn_mask[port / 64], bitOf(port), __ATOMIC_SEQ_CST); }

bool pendingBit(uint32_t port) { return (__atomic_load_n(&gShared->evtchn_pending[port / 64], __ATOMIC_ACQUIRE) & bitOf(port)) != 0; }

bool maskedBit(uint32_t port) { return (__atomic_load_n(&gShared->evtchn_mask[port / 64], __ATOMIC_ACQUIRE) & bitOf(port)) != 0; }

long send(uint32_t port) {
  evtchn_send op{};
  op.port = port;
  return xen::eventChannelOp(EVTCHNOP_send, &op);
}

long close(uint32_t port) {
  evtchn_close op{};
  op.port = port;
  return xen::eventChannelOp(EVTCHNOP_close, &op);
}

long unmask(uint32_t port) {
  evtchn_unmask op{};
  op.port = port;
  return xen::eventChannelOp(EVTCHNOP_unmask, &op);
}

long bindVirq(uint32_t virq, uint32_t vcpu, uint32_t& port) {
  evtchn_bind_virq op{};
  op.virq = virq;
  op.vcpu = vcpu;
  long rc = xen::eventChannelOp(EVTCHNOP_bind_virq, &op);
  port = rc == 0 ? op.port : 0;
  return rc;
}

long bindIpi(uint32_t vcpu, uint32_t& port) {
  evtchn_bind_ipi op{};
  op.vcpu = vcpu;
  long rc = xen::eventChannelOp(EVTCHNOP_bind_ipi, &op);
  port = rc == 0 ? op.port : 0;
  return rc;
}

long allocUnbound(domid_t remoteDom, uint32_t& port) {
  evtchn_alloc_unbound op{};
  op.dom = DOMID_SELF;
  op.remote_dom = remoteDom;
  long rc = xen::eventChannelOp(EVTCHNOP_alloc_unbound, &op);
  port = rc == 0 ? op.port : 0;
  return rc;
}

long bindInterdomain(domid_t remoteDom, uint32_t remotePort, uint32_t& port) {
  evtchn_bind_interdomain op{};
  op.remote_dom = remoteDom;
  op.remote_port = remotePort;
  long rc = xen::eventChannelOp(EVTCHNOP_bind_interdomain, &op);
  port = rc == 0 ? op.local_port : 0;
  return rc;
}

long status(uint32_t port, evtchn_status& out) {
  out = evtchn_status{};
  out.dom = DOMID_SELF;
  out.port = port;
  return xen::eventChannelOp(EVTCHNOP_status, &out);
}

void poll() {
  PerCpu& c = thisCpu();
  if (!upcallPending(c)) return;
  // The vector can be taken at once: take it as an interrupt. "sti; hlt"
  // because this host's CPL0 emulator recognises interrupts only at batch
  // boundaries, which hlt is; the vector is requested and above PPR, so hlt
  // returns as soon as its handler has run.
  if (!gPollOnly && gDelivery != Delivery::None && lapic::deliverable(kUpcallVector)) {
    asm volatile("sti; hlt; cli" ::: "memory");
    return;
  }
  // Not (yet) requested, or held back by an in-service vector: same scan, by hand.
  bump(c.upcallsPolled);
  handleUpcall(c);
}

void blockOnce() {
  PerCpu& c = thisCpu();
  if (gIdleHlt && !gPollOnly && gDelivery != Delivery::None) {
    // As Linux PVH idles: "sti; hlt" sleeps in the hypervisor until the
    // upcall vector arrives, which it then takes, with no hypercall at all.
    if (!upcallPending(c)) asm volatile("sti; hlt; cli" ::: "memory");
    c.wakeTsc = cpu::rdtsc();
    poll();
    return;
  }
  // Xen's SCHEDOP_block returns at once when an upcall is pending.
  if (!upcallPending(c)) xen::schedOp(SCHEDOP_block, nullptr);
  c.wakeTsc = cpu::rdtsc();
  poll();
}

UpcallStats stats(uint32_t vcpus) {
  UpcallStats s{};
  for (uint32_t i = 0; i < vcpus && i < MAX_CPUS; ++i) {
    const PerCpu& c = percpu::cpu(i);
    s.irq += loadShared(c.upcallsIrq);
    s.polled += loadShared(c.upcallsPolled);
    s.empty += loadShared(c.upcallsEmpty);
  }
  return s;
}

}  // namespace events

extern "C" void upcall_dispatch() {
  PerCpu& c = thisCpu();
  if (c.vi != nullptr && __atomic_load_n(&c.vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) != 0) {
    events::bump(c.upcallsIrq);
    events::handleUpcall(c);
  } else {
    events::bump(c.upcallsEmpty);
  }
  if (events::gDelivery == events::Delivery::PerVcpuVector) lapic::eoi();
}
