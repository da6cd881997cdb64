#include "kernel/ConsoleRing.h"

#include <xen/io/console.h>

#include "kernel/Events.h"
#include "kernel/Hypercall.h"
#include "kernel/PortWait.h"
#include "kernel/XenTime.h"
#include "lib/ByteRing.h"

namespace consolering {
namespace {

constexpr uint64_t kIdentityMapEnd = 0x100000000;  // pvh/pagetables.S
constexpr uint64_t kFullWaitNs = 2 * xentime::kNsPerSec;
constexpr uint64_t kFlushWaitNs = 1 * xentime::kNsPerSec;
// Without Xen time (before events::init()) the waits count yields instead.
constexpr uint32_t kFullYields = 20000;
constexpr uint32_t kFlushYields = 5000;
constexpr uint32_t kLockSpins = 200000;  // ~1 s of emulated CPL0 at most

constinit xencons_interface* gRing = nullptr;
constinit uint64_t gPfn = 0;
constinit uint32_t gPort = 0;
constinit bool gActive = false;
constinit uint32_t gLock = 0;
constinit uint64_t gFallbacks = 0;
constinit uint64_t gRingBytes = 0;

ByteRing outRing() { return ByteRing(gRing->out, sizeof(gRing->out), &gRing->out_prod, &gRing->out_cons); }
ByteRing inRing() { return ByteRing(gRing->in, sizeof(gRing->in), &gRing->in_prod, &gRing->in_cons); }

bool timed() { return events::ready() && xentime::available(); }

// Several vCPUs may print at once. Bounded, so a vCPU that faults while
// holding the lock still gets its report out (through console_io).
bool lock() {
  for (uint32_t i = 0; i < kLockSpins; ++i) {
    if (__atomic_exchange_n(&gLock, 1u, __ATOMIC_ACQUIRE) == 0) return true;
    asm volatile("pause" ::: "memory");
  }
  return false;
}

void unlock() { __atomic_store_n(&gLock, 0u, __ATOMIC_RELEASE); }

void notify() { events::send(gPort); }

// One bounded wait for the back end to make room (or drain): a poll on the
// console port when there is Xen time, else a yield. False once the budget
// (start..deadline, or the yield count) is spent.
bool waitForBackEnd(uint64_t deadline, uint32_t& yields, uint32_t maxYields) {
  if (deadline != 0) {
    portwait::clear(gPort);
    return portwait::wait(gPort, deadline);
  }
  if (++yields > maxYields) return false;
  xen::schedOp(SCHEDOP_yield, nullptr);
  return true;
}

void giveUp() {
  // A ring that is broken or never drained: the rest of the run uses console_io.
  gActive = false;
  ++gFallbacks;
}

}  // namespace

bool init() {
  uint64_t pfn = 0, port = 0;
  xen::getHvmParam(HVM_PARAM_CONSOLE_PFN, pfn);
  xen::getHvmParam(HVM_PARAM_CONSOLE_EVTCHN, port);
  gPfn = pfn;
  gPort = static_cast<uint32_t>(port);
  if (pfn == 0 || port == 0 || port >= events::kMaxPorts) return false;
  if (pfn >= kIdentityMapEnd / 4096) return false;
  gRing = reinterpret_cast<xencons_interface*>(pfn * 4096);
  if (outRing().used() < 0) return false;  // the back end left it inconsistent
  gActive = true;
  return true;
}

uint64_t pfn() { return gPfn; }
uint32_t port() { return gPort; }
bool active() { return gActive; }
uint64_t fallbacks() { return gFallbacks; }
uint64_t ringBytes() { return gRingBytes; }

size_t write(Str text) {
  if (!gActive) return 0;
  if (!lock()) return 0;
  size_t done = 0;
  const uint64_t deadline = timed() ? xentime::now() + kFullWaitNs : 0;
  uint32_t yields = 0;
  while (gActive && done < text.size) {
    const long n = outRing().write(text.data + done, text.size - done);
    if (n < 0) {
      giveUp();
      break;
    }
    done += static_cast<size_t>(n);
    gRingBytes += static_cast<uint64_t>(n);
    notify();
    if (done < text.size && !waitForBackEnd(deadline, yields, kFullYields)) giveUp();
  }
  unlock();
  return done;
}

void flush() {
  if (!gActive || !lock()) return;
  const uint64_t deadline = timed() ? xentime::now() + kFlushWaitNs : 0;
  uint32_t yields = 0;
  for (;;) {
    const long used = outRing().used();
    if (used <= 0) break;
    notify();
    if (!waitForBackEnd(deadline, yields, kFlushYields)) break;
  }
  unlock();
}

long read(char* buf, size_t n) {
  if (gRing == nullptr) return -1;
  const long got = inRing().read(buf, n);
  if (got > 0) notify();  // the back end may be waiting for room
  return got;
}

}  // namespace consolering
