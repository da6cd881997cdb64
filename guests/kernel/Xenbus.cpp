#include "kernel/Xenbus.h"

#include "kernel/Events.h"
#include "kernel/Hypercall.h"
#include "kernel/PortWait.h"
#include "kernel/XenTime.h"
#include "lib/ByteRing.h"
#include "lib/XsInbox.h"
#include "lib/XsRequest.h"

namespace xenbus {
namespace {

constexpr uint64_t kIdentityMapEnd = 0x100000000;  // pvh/pagetables.S
constexpr size_t kEventQueue = 16;

constinit xenstore_domain_interface* gIntf = nullptr;
constinit uint64_t gPfn = 0;
constinit uint32_t gPort = 0;
constinit bool gBroken = false;
constinit uint32_t gNextReqId = 1;
constinit uint64_t gTimeoutNs = kDefaultTimeoutNs;
constinit Stats gStats{};

// Static: too big for the 16 KiB boot stack.
constinit XsRequest gRequest;
constinit XsInbox gInbox;
alignas(8) constinit char gReply[XENSTORE_PAYLOAD_MAX + 1]{};
constinit size_t gReplyLen = 0;
constinit uint32_t gReplyType = 0;

constinit WatchEvent gEvents[kEventQueue]{};
constinit size_t gEventHead = 0;
constinit size_t gEventCount = 0;

ByteRing reqRing() { return ByteRing(gIntf->req, XENSTORE_RING_SIZE, &gIntf->req_prod, &gIntf->req_cons); }
ByteRing rspRing() { return ByteRing(gIntf->rsp, XENSTORE_RING_SIZE, &gIntf->rsp_prod, &gIntf->rsp_cons); }

void copyClamped(char* dst, size_t cap, size_t& len, Str s) {
  len = s.size < cap ? s.size : cap;
  memcpy(dst, s.data, len);
}

void queueWatchEvent(Str payload) {
  Str path, token;
  if (!parseWatchEvent(payload, path, token)) return;
  ++gStats.watchEvents;
  if (gEventCount == kEventQueue) {
    // Full: drop the oldest, as a watch only says "look again".
    gEventHead = (gEventHead + 1) % kEventQueue;
    --gEventCount;
    ++gStats.droppedEvents;
  }
  WatchEvent& ev = gEvents[(gEventHead + gEventCount) % kEventQueue];
  copyClamped(ev.path, WatchEvent::kPathMax, ev.pathLen, path);
  copyClamped(ev.token, WatchEvent::kTokenMax, ev.tokenLen, token);
  ++gEventCount;
}

// Reads whatever the daemon has written; every complete message is either
// queued (watch events), kept (the reply to reqId) or dropped (a reply to a
// request that already timed out). True when the reply to reqId arrived.
bool pump(uint32_t reqId) {
  bool got = false;
  bool consumed = false;
  while (!gBroken) {
    const size_t want = gInbox.want();
    const long n = want == 0 ? 0 : rspRing().read(gInbox.space(), want);
    if (n < 0) {
      gBroken = true;
      break;
    }
    if (n > 0) {
      consumed = true;
      gInbox.commit(static_cast<size_t>(n));
    }
    if (gInbox.bad()) {
      gBroken = true;
      break;
    }
    if (!gInbox.complete()) {
      if (n == 0) break;
      continue;
    }
    const xsd_sockmsg& h = gInbox.header();
    if (h.type == XS_WATCH_EVENT) {
      queueWatchEvent(gInbox.payload());
    } else if (h.req_id == reqId && reqId != 0 && !got) {
      Str p = gInbox.payload();
      memcpy(gReply, p.data, p.size);
      gReply[p.size] = '\0';
      gReplyLen = p.size;
      gReplyType = h.type;
      got = true;
    } else {
      ++gStats.staleReplies;
    }
    gInbox.reset();
  }
  // The daemon may be waiting for room to write more.
  if (consumed) events::send(gPort);
  return got;
}

// Sends gRequest and waits for its reply (in gReply). 0, or an error.
long transact(uint32_t expectType) {
  if (gIntf == nullptr) return -XEN_ENODEV;
  if (gBroken) return -XEN_EIO;
  if (!gRequest.ok()) return -XEN_E2BIG;
  ++gStats.requests;
  const uint32_t reqId = gRequest.header().req_id;
  const uint64_t deadline = xentime::now() + gTimeoutNs;
  size_t sent = 0;
  bool got = false;
  while (!got) {
    portwait::clear(gPort);
    if (sent < gRequest.size()) {
      const long n = reqRing().write(gRequest.bytes() + sent, gRequest.size() - sent);
      if (n < 0) gBroken = true;
      if (n > 0) {
        sent += static_cast<size_t>(n);
        events::send(gPort);
      }
    }
    got = pump(reqId);
    if (gBroken) return -XEN_EIO;
    if (got) break;
    if (!portwait::wait(gPort, deadline)) {
      ++gStats.timeouts;
      // A request only half in the ring would garble the stream for good.
      if (sent != 0 && sent < gRequest.size()) gBroken = true;
      return -XEN_ETIMEDOUT;
    }
  }
  if (gReplyType == XS_ERROR) {
    ++gStats.errors;
    return xsErrorNumber(Str(gReply, gReplyLen));
  }
  return gReplyType == expectType ? 0 : -XEN_EIO;
}

void begin(uint32_t type, uint32_t tx) {
  uint32_t id = gNextReqId++;
  if (id == 0) id = gNextReqId++;  // 0 never matches (pump's "no reply wanted")
  gRequest.begin(type, id, tx);
}

long simple(uint32_t type, Str path, uint32_t tx) {
  begin(type, tx);
  gRequest.arg(path);
  return transact(type);
}

}  // namespace

long init(Line& why) {
  uint64_t pfnValue = 0, portValue = 0;
  xen::getHvmParam(HVM_PARAM_STORE_PFN, pfnValue);
  xen::getHvmParam(HVM_PARAM_STORE_EVTCHN, portValue);
  gPfn = pfnValue;
  gPort = static_cast<uint32_t>(portValue);
  if (pfnValue == 0 || portValue == 0) {
    why.str("no xenstore (HVM_PARAM_STORE_PFN=").hex(pfnValue).str(" HVM_PARAM_STORE_EVTCHN=").dec(portValue).ch(')');
    return -XEN_ENODEV;
  }
  if (pfnValue >= kIdentityMapEnd / 4096 || portValue >= events::kMaxPorts) {
    why.str("xenstore page ").hex(pfnValue).str(" or port ").dec(portValue).str(" out of reach");
    return -XEN_ERANGE;
  }
  if (!events::ready() || !xentime::available()) {
    why.str("xenstore needs event channels and Xen time");
    return -XEN_ENOSYS;
  }
  gIntf = reinterpret_cast<xenstore_domain_interface*>(pfnValue * 4096);
  // As Linux's xb_init_comms: replies left from before (a reboot in place)
  // belong to nobody; skip them. Bogus indexes mean a broken ring.
  const uint32_t prod = __atomic_load_n(&gIntf->rsp_prod, __ATOMIC_ACQUIRE);
  if (prod - __atomic_load_n(&gIntf->rsp_cons, __ATOMIC_ACQUIRE) <= XENSTORE_RING_SIZE)
    __atomic_store_n(&gIntf->rsp_cons, prod, __ATOMIC_RELEASE);
  if (reqRing().used() < 0 || rspRing().used() < 0) {
    gBroken = true;
    why.str("xenstore ring indexes are inconsistent");
    return -XEN_EIO;
  }
  return 0;
}

bool ready() { return gIntf != nullptr && !gBroken; }
uint64_t pfn() { return gPfn; }
uint32_t port() { return gPort; }
void setTimeout(uint64_t ns) { gTimeoutNs = ns; }
Stats stats() { return gStats; }

long read(Str path, char* buf, size_t cap, size_t& len, uint32_t tx) {
  len = 0;
  long rc = simple(XS_READ, path, tx);
  if (rc != 0) return rc;
  if (gReplyLen > cap) return -XEN_ENOSPC;
  memcpy(buf, gReply, gReplyLen);
  len = gReplyLen;
  return 0;
}

long readNumber(Str path, uint64_t& value, uint32_t tx) {
  char buf[24];
  size_t len = 0;
  long rc = read(path, buf, sizeof(buf), len, tx);
  if (rc == -XEN_ENOSPC) return -XEN_EINVAL;
  if (rc != 0) return rc;
  if (len == 0 || len > 20) return -XEN_EINVAL;
  uint64_t v = 0;
  for (size_t i = 0; i < len; ++i) {
    if (buf[i] < '0' || buf[i] > '9') return -XEN_EINVAL;
    const uint64_t d = static_cast<uint64_t>(buf[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return -XEN_EINVAL;
    v = v * 10 + d;
  }
  value = v;
  return 0;
}

long write(Str path, Str value, uint32_t tx) {
  begin(XS_WRITE, tx);
  gRequest.arg(path).raw(value);
  return transact(XS_WRITE);
}

long mkdir(Str path, uint32_t tx) { return simple(XS_MKDIR, path, tx); }

long rm(Str path, uint32_t tx) { return simple(XS_RM, path, tx); }

long directory(Str path, char* buf, size_t cap, size_t& len, uint32_t tx) {
  len = 0;
  long rc = simple(XS_DIRECTORY, path, tx);
  if (rc != 0) return rc;
  if (gReplyLen > cap) return -XEN_ENOSPC;
  memcpy(buf, gReply, gReplyLen);
  len = gReplyLen;
  return 0;
}

long watch(Str path, Str token) {
  begin(XS_WATCH, 0);
  gRequest.arg(path).arg(token);
  return transact(XS_WATCH);
}

long unwatch(Str path, Str token) {
  begin(XS_UNWATCH, 0);
  gRequest.arg(path).arg(token);
  return transact(XS_UNWATCH);
}

long transactionStart(uint32_t& tx) {
  tx = 0;
  begin(XS_TRANSACTION_START, 0);
  gRequest.arg("");
  long rc = transact(XS_TRANSACTION_START);
  if (rc != 0) return rc;
  // The reply is the id in decimal (and a NUL).
  uint64_t v = 0;
  size_t i = 0;
  for (; i < gReplyLen && gReply[i] >= '0' && gReply[i] <= '9' && i < 10; ++i) v = v * 10 + static_cast<uint64_t>(gReply[i] - '0');
  if (i == 0 || v == 0 || v > UINT32_MAX || (i < gReplyLen && gReply[i] != '\0')) return -XEN_EIO;
  tx = static_cast<uint32_t>(v);
  return 0;
}

long transactionEnd(uint32_t tx, bool commit) {
  begin(XS_TRANSACTION_END, tx);
  gRequest.arg(commit ? "T" : "F");
  return transact(XS_TRANSACTION_END);
}

bool nextWatchEvent(WatchEvent& ev, uint64_t deadlineNs) {
  for (;;) {
    if (gEventCount != 0) {
      ev = gEvents[gEventHead];
      gEventHead = (gEventHead + 1) % kEventQueue;
      --gEventCount;
      return true;
    }
    if (gIntf == nullptr || gBroken) return false;
    portwait::clear(gPort);
    pump(0);
    if (gEventCount != 0) continue;
    if (deadlineNs == 0 || !portwait::wait(gPort, deadlineNs)) return false;
  }
}

}  // namespace xenbus
