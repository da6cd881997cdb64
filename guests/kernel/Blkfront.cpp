#include "kernel/Blkfront.h"

#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>

#include "kernel/Events.h"
#include "kernel/GrantTable.h"
#include "kernel/Hypercall.h"
#include "kernel/PhysAlloc.h"
#include "kernel/PortWait.h"
#include "kernel/Xen.h"
#include "kernel/XenTime.h"
#include "kernel/Xenbus.h"
#include "lib/XsInbox.h"
#include "lib/XsRequest.h"

// ring.h leaves the barriers to the includer. x86 keeps stores in order and
// loads in order, so rmb/wmb only stop the compiler; mb must also order a
// store before a later load (the req_event/rsp_event checks): a locked
// instruction, as Linux's smp_mb on x86-64.
#define xen_mb() asm volatile("lock; orq $0, (%%rsp)" ::: "memory", "cc")
#define xen_rmb() asm volatile("" ::: "memory")
#define xen_wmb() asm volatile("" ::: "memory")

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kDirectSegments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
constexpr uint64_t kMaxDiskSectors = uint64_t{1} << 50;  // far beyond any disk; refuses garbage
constexpr uint64_t kCloseWaitNs = 1 * xentime::kNsPerSec;
constexpr int kTransactionRetries = 10;
constexpr char kToken[] = "blkfront";

const char* stateName(uint64_t s) {
  switch (s) {
    case XenbusStateUnknown: return "Unknown";
    case XenbusStateInitialising: return "Initialising";
    case XenbusStateInitWait: return "InitWait";
    case XenbusStateInitialised: return "Initialised";
    case XenbusStateConnected: return "Connected";
    case XenbusStateClosing: return "Closing";
    case XenbusStateClosed: return "Closed";
    case XenbusStateReconfiguring: return "Reconfiguring";
    case XenbusStateReconfigured: return "Reconfigured";
    default: return "invalid";
  }
}

bool isDigits(Str s, size_t max) {
  if (s.size == 0 || s.size > max) return false;
  for (size_t i = 0; i < s.size; ++i) {
    if (s.data[i] < '0' || s.data[i] > '9') return false;
  }
  return true;
}

// A backend path is the toolstack's, but it lands in our requests: an
// absolute xenstore path of plain characters, nothing else.
bool saneBackendPath(Str p) {
  if (p.size < 2 || p.size >= sizeof(Blkfront::Info::backend) || p.data[0] != '/') return false;
  for (size_t i = 0; i < p.size; ++i) {
    const char c = p.data[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                    c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) return false;
  }
  return true;
}

Line path(Str dir, Str key) { return Line().str(dir).ch('/').str(key); }

}  // namespace

long Blkfront::readBackendState(uint64_t& state) {
  long rc = xenbus::readNumber(path(Str(info_.backend), "state").view(), state);
  if (rc == -XEN_ENOENT) {  // as xenbus_read_driver_state: gone reads as Unknown
    state = XenbusStateUnknown;
    return 0;
  }
  return rc;
}

long Blkfront::writeFrontState(uint32_t state) {
  return xenbus::write(path(Str(frontPath_, frontPathLen_), "state").view(), Line().dec(state).view());
}

long Blkfront::waitBackend(bool (*done)(uint64_t), uint64_t deadlineNs, uint64_t& state) {
  for (;;) {
    long rc = readBackendState(state);
    if (rc != 0) return rc;
    if (done(state)) return 0;
    // Any watch event is a reason to look again; ours fires on every change.
    xenbus::WatchEvent ev;
    if (!xenbus::nextWatchEvent(ev, deadlineNs)) return -XEN_ETIMEDOUT;
  }
}

long Blkfront::connect(Str vbd, uint64_t timeoutNs, Line& why) {
  if (!xenbus::ready() || !gnttab::ready()) {
    why.str("blkfront needs xenbus and the grant table");
    return -XEN_ENODEV;
  }
  uint32_t me = 0;
  if (!xen::domid(me)) {
    uint64_t v = 0;
    if (xenbus::readNumber("domid", v) != 0 || v >= DOMID_FIRST_RESERVED) {
      why.str("cannot tell this domain's id (CPUID and xenstore 'domid')");
      return -XEN_ENODEV;
    }
    me = static_cast<uint32_t>(v);
  }
  Line dir;
  dir.str("/local/domain/").dec(me).str("/device/vbd");
  char names[256];
  Str id = vbd;
  if (id.size == 0) {
    size_t len = 0;
    long rc = xenbus::directory(dir.view(), names, sizeof(names), len);
    XsStrings list(Str(names, len));
    if (rc != 0 || !list.next(id)) {
      why.str("no block device: directory ").str(dir.view()).str(rc != 0 ? " failed rc=" : " is empty");
      if (rc != 0) why.sdec(rc);
      return rc != 0 ? rc : -XEN_ENODEV;
    }
  }
  if (!isDigits(id, 10)) {
    why.str("device id '").str(id.sub(0, 32)).str("' is not a number");
    return -XEN_EINVAL;
  }
  uint64_t vbdNumber = 0;
  for (size_t i = 0; i < id.size; ++i) vbdNumber = vbdNumber * 10 + static_cast<uint64_t>(id.data[i] - '0');
  if (vbdNumber > UINT32_MAX) {
    why.str("device id ").str(id).str(" is too large");
    return -XEN_EINVAL;
  }
  info_.vbd = static_cast<uint32_t>(vbdNumber);
  const Line front = path(dir.view(), id);
  frontPathLen_ = front.view().size < sizeof(frontPath_) ? front.view().size : sizeof(frontPath_);
  memcpy(frontPath_, front.view().data, frontPathLen_);
  const Str fe(frontPath_, frontPathLen_);

  size_t len = 0;
  char backend[sizeof(info_.backend)];
  long rc = xenbus::read(path(fe, "backend").view(), backend, sizeof(backend) - 1, len);
  if (rc != 0 || !saneBackendPath(Str(backend, len))) {
    why.str("reading ").str(fe).str("/backend: ");
    if (rc != 0) why.str(xsErrorName(rc)); else why.str("not a plain absolute path");
    return rc != 0 ? rc : -XEN_EINVAL;
  }
  memcpy(info_.backend, backend, len);
  info_.backend[len] = '\0';
  uint64_t backendId = 0;
  rc = xenbus::readNumber(path(fe, "backend-id").view(), backendId);
  if (rc != 0 || backendId >= DOMID_FIRST_RESERVED) {
    why.str("reading ").str(fe).str("/backend-id: ").str(rc != 0 ? xsErrorName(rc) : "not a domain id");
    return rc != 0 ? rc : -XEN_EINVAL;
  }
  info_.backendId = static_cast<domid_t>(backendId);
  rc = xenbus::watch(path(Str(info_.backend), "state").view(), kToken);
  if (rc != 0) {
    why.str("watching ").str(Str(info_.backend)).str("/state: ").str(xsErrorName(rc));
    return rc;
  }
  rc = handshake(timeoutNs, why);
  if (rc != 0) xenbus::unwatch(path(Str(info_.backend), "state").view(), kToken);
  return rc;
}

long Blkfront::handshake(uint64_t timeoutNs, Line& why) {
  const Str be(info_.backend);
  uint64_t state = 0;
  long rc = readBackendState(state);
  if (rc != 0) {
    why.str("reading ").str(be).str("/state: ").str(xsErrorName(rc));
    return rc;
  }
  // A backend still connected to an earlier instance of this frontend (a
  // reboot in place): close and start again, as xenbus_reset_state does.
  if (state == XenbusStateConnected || state == XenbusStateClosing || state == XenbusStateClosed) {
    writeFrontState(XenbusStateClosed);
    waitBackend([](uint64_t s) { return s == XenbusStateClosed || s == XenbusStateInitWait; },
                xentime::now() + timeoutNs, state);
    writeFrontState(XenbusStateInitialising);
  }
  rc = waitBackend([](uint64_t s) { return s >= XenbusStateInitWait; }, xentime::now() + timeoutNs, state);
  if (rc != 0 || state != XenbusStateInitWait) {
    why.str("backend ").str(be).str(" not in InitWait");
    if (rc == -XEN_ETIMEDOUT) why.str(" after ").dec(timeoutNs / xentime::kNsPerMs).str(" ms");
    why.str(" (state ").dec(state).ch(' ').str(stateName(state)).ch(')');
    return rc != 0 ? rc : -XEN_ENODEV;
  }
  rc = publishRing(why);
  if (rc != 0) return rc;
  rc = writeFrontState(XenbusStateInitialised);
  if (rc != 0) {
    why.str("writing state Initialised: ").str(xsErrorName(rc));
    return rc;
  }
  rc = waitBackend([](uint64_t s) { return s >= XenbusStateConnected; }, xentime::now() + timeoutNs, state);
  if (rc != 0 || state != XenbusStateConnected) {
    why.str("backend ").str(be).str(" not Connected");
    if (rc == -XEN_ETIMEDOUT) why.str(" after ").dec(timeoutNs / xentime::kNsPerMs).str(" ms");
    why.str(" (state ").dec(state).ch(' ').str(stateName(state)).ch(')');
    return rc != 0 ? rc : -XEN_ENODEV;
  }
  rc = readDisk(why);
  if (rc == 0) rc = setupSlots(why);
  if (rc != 0) return rc;
  rc = writeFrontState(XenbusStateConnected);
  if (rc != 0) {
    why.str("writing state Connected: ").str(xsErrorName(rc));
    return rc;
  }
  connected_ = true;
  return 0;
}

long Blkfront::publishRing(Line& why) {
  sring_ = static_cast<blkif_sring*>(physAlloc().alloc(kPage));
  if (sring_ == nullptr) {
    why.str("no RAM for the ring");
    return -XEN_ENOMEM;
  }
  memset(sring_, 0, kPage);
  SHARED_RING_INIT(sring_);
  FRONT_RING_INIT(&front_, sring_, kPage);
  long ref = gnttab::grantAccess(info_.backendId, reinterpret_cast<uintptr_t>(sring_) / kPage, false);
  if (ref < 0) {
    why.str("granting the ring page: rc=").sdec(ref);
    return ref;
  }
  info_.ringRef = static_cast<uint32_t>(ref);
  long rc = events::allocUnbound(info_.backendId, info_.port);
  if (rc != 0) {
    why.str("EVTCHNOP_alloc_unbound(remote ").dec(info_.backendId).str(") rc=").sdec(rc);
    return rc;
  }
  const Str fe(frontPath_, frontPathLen_);
  // In one transaction, as xen-blkfront's talk_to_blkback, retried on EAGAIN.
  for (int attempt = 0; attempt < kTransactionRetries; ++attempt) {
    uint32_t tx = 0;
    if (xenbus::transactionStart(tx) != 0) tx = 0;  // no transactions: plain writes
    rc = xenbus::write(path(fe, "ring-ref").view(), Line().dec(info_.ringRef).view(), tx);
    if (rc == 0) rc = xenbus::write(path(fe, "event-channel").view(), Line().dec(info_.port).view(), tx);
    if (rc == 0) rc = xenbus::write(path(fe, "protocol").view(), XEN_IO_PROTO_ABI_X86_64, tx);
    // As xen-blkfront's talk_to_blkback: the backend may keep our grants mapped.
    if (rc == 0 && options_.persistentGrants) rc = xenbus::write(path(fe, "feature-persistent").view(), "1", tx);
    if (tx != 0) {
      const long end = xenbus::transactionEnd(tx, rc == 0);
      if (rc == 0) rc = end;
    }
    if (rc != -XEN_EAGAIN) break;
  }
  if (rc != 0) {
    why.str("publishing ring-ref/event-channel/protocol under ").str(fe).str(": ").str(xsErrorName(rc));
    return rc;
  }
  return 0;
}

long Blkfront::readDisk(Line& why) {
  const Str be(info_.backend);
  auto number = [&](Str key, bool required, uint64_t fallback, uint64_t max, uint64_t& out) -> long {
    long rc = xenbus::readNumber(path(be, key).view(), out);
    if (rc == -XEN_ENOENT && !required) {
      out = fallback;
      return 0;
    }
    if (rc == 0 && out > max) rc = -XEN_ERANGE;
    if (rc != 0) why.str("backend ").str(be).ch('/').str(key).str(": ").str(xsErrorName(rc));
    return rc;
  };
  uint64_t sectors = 0, sectorSize = 0, info = 0, flush = 0, barrier = 0, indirect = 0;
  long rc = number("sectors", true, 0, kMaxDiskSectors, sectors);
  if (rc == 0) rc = number("sector-size", true, 0, 4096, sectorSize);
  if (rc == 0) rc = number("info", false, 0, UINT32_MAX, info);
  if (rc == 0) rc = number("feature-flush-cache", false, 0, UINT32_MAX, flush);
  if (rc == 0) rc = number("feature-barrier", false, 0, UINT32_MAX, barrier);
  if (rc == 0) rc = number("feature-max-indirect-segments", false, 0, UINT32_MAX, indirect);
  if (rc != 0) return rc;
  if (sectorSize < 512 || (sectorSize & (sectorSize - 1)) != 0) {
    why.str("backend sector-size ").dec(sectorSize).str(" is not a power of two in 512..4096");
    return -XEN_EINVAL;
  }
  info_.sectors = sectors;
  info_.sectorSize = static_cast<uint32_t>(sectorSize);
  info_.info = static_cast<uint32_t>(info);
  info_.flushCache = flush != 0;
  info_.barrier = barrier != 0;
  info_.maxIndirect = static_cast<uint32_t>(indirect);
  return 0;
}

long Blkfront::setupSlots(Line& why) {
  // Indirect requests only when asked for and offered (xen-blkfront's
  // blkif_setup_rq_segs: min of its own limit and the backend's).
  uint32_t segments = kDirectSegments;
  if (options_.maxSegments > kDirectSegments && info_.maxIndirect > kDirectSegments) {
    segments = options_.maxSegments < info_.maxIndirect ? options_.maxSegments : info_.maxIndirect;
    if (segments > kMaxSegments) segments = kMaxSegments;
  }
  info_.segments = segments;
  buffers_ = static_cast<uint8_t*>(physAlloc().alloc(uint64_t{kSlots} * segments * kPage));
  if (buffers_ == nullptr) {
    why.str("no RAM for ").dec(kSlots).str(" request buffers of ").dec(segments).str(" pages");
    return -XEN_ENOMEM;
  }
  if (segments > kDirectSegments) {
    indirect_ = static_cast<uint8_t*>(physAlloc().alloc(uint64_t{kSlots} * kPage));
    if (indirect_ == nullptr) {
      why.str("no RAM for the indirect pages");
      return -XEN_ENOMEM;
    }
    memset(indirect_, 0, kSlots * kPage);
  }
  if (!options_.persistentGrants) return 0;
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    Slot& s = slots_[slot];
    for (uint32_t i = 0; i < segments; ++i) {
      // Read-write: the same pages serve reads and writes for the slot's life.
      const long ref = gnttab::grantAccess(info_.backendId, reinterpret_cast<uintptr_t>(data(slot)) / kPage + i, false);
      if (ref < 0) {
        why.str("persistent grants: ").dec(slot * segments + i).str(" pages granted, then rc=").sdec(ref)
            .str(" (grant table capacity ").dec(gnttab::capacity()).ch(')');
        return ref;
      }
      s.refs[s.nrefs++] = static_cast<grant_ref_t>(ref);
    }
    if (indirect_ != nullptr) {
      // The segment list never changes but for the last segment's length.
      blkif_request_segment* seg = indirectPage(slot);
      for (uint32_t i = 0; i < segments; ++i) seg[i] = {s.refs[i], 0, blkif::kSectorsPerPage - 1};
      const long ref = gnttab::grantAccess(info_.backendId, reinterpret_cast<uintptr_t>(seg) / kPage, true);
      if (ref < 0) {
        why.str("persistent grants: the indirect page of slot ").dec(slot).str(": rc=").sdec(ref);
        return ref;
      }
      s.indirectRef = static_cast<grant_ref_t>(ref);
      s.hasIndirectRef = true;
    }
  }
  return 0;
}

blkif_request_segment* Blkfront::indirectPage(uint32_t slot) const {
  return reinterpret_cast<blkif_request_segment*>(indirect_ + uint64_t{slot} * kPage);
}

void Blkfront::close() {
  if (!connected_) return;
  connected_ = false;
  uint64_t state = 0;
  writeFrontState(XenbusStateClosing);
  waitBackend([](uint64_t s) { return s >= XenbusStateClosing || s == XenbusStateUnknown; },
              xentime::now() + kCloseWaitNs, state);
  writeFrontState(XenbusStateClosed);
  // Backends (Linux's xen-blkback too) unmap the ring only when they see the
  // frontend Closed: wait for the backend's Closed before taking the grant back.
  waitBackend([](uint64_t s) { return s == XenbusStateClosed || s == XenbusStateUnknown; },
              xentime::now() + kCloseWaitNs, state);
  xenbus::unwatch(path(Str(info_.backend), "state").view(), kToken);
  if (inFlight() == 0 && !gnttab::endAccess(info_.ringRef)) ++leakedGrants_;
  if (options_.persistentGrants && inFlight() == 0) {
    for (Slot& s : slots_) endGrants(s);
  }
  events::close(info_.port);
}

long Blkfront::acquire(uint32_t& slot) {
  for (uint32_t i = 0; i < kSlots; ++i) {
    if (slots_[i].state == SlotState::Free) {
      slots_[i].state = SlotState::Acquired;
      slot = i;
      return 0;
    }
  }
  return -XEN_EBUSY;
}

uint8_t* Blkfront::data(uint32_t slot) const { return buffers_ + uint64_t{slot} * info_.segments * kPage; }

void Blkfront::release(uint32_t slot) {
  if (slot < kSlots && slots_[slot].state != SlotState::InFlight) slots_[slot].state = SlotState::Free;
}

uint32_t Blkfront::inFlight() const {
  uint32_t n = 0;
  for (const Slot& s : slots_) n += s.state == SlotState::InFlight ? 1 : 0;
  return n;
}

uint32_t Blkfront::outstanding() const {
  uint32_t n = 0;
  for (const Slot& s : slots_) n += s.state == SlotState::InFlight || s.state == SlotState::Done ? 1 : 0;
  return n;
}

void Blkfront::endGrants(Slot& s) {
  for (uint32_t i = 0; i < s.nrefs; ++i) {
    if (!gnttab::endAccess(s.refs[i])) ++leakedGrants_;
  }
  s.nrefs = 0;
  if (s.hasIndirectRef && !gnttab::endAccess(s.indirectRef)) ++leakedGrants_;
  s.hasIndirectRef = false;
}

long Blkfront::fillIndirect(Slot& s, uint32_t slot, uint32_t sectors) {
  blkif_request_segment* seg = indirectPage(slot);
  const uint32_t pages = blkif::pagesFor(sectors);
  const uint32_t lastSectors = sectors - (pages - 1) * blkif::kSectorsPerPage;
  if (options_.persistentGrants) {
    // Put back the length an earlier request on this slot shortened.
    seg[s.patchedSeg].last_sect = blkif::kSectorsPerPage - 1;
  } else {
    for (uint32_t i = 0; i < pages; ++i) seg[i] = {s.refs[i], 0, blkif::kSectorsPerPage - 1};
    const long ref = gnttab::grantAccess(info_.backendId, reinterpret_cast<uintptr_t>(seg) / kPage, true);
    if (ref < 0) return ref;
    s.indirectRef = static_cast<grant_ref_t>(ref);
    s.hasIndirectRef = true;
  }
  seg[pages - 1].last_sect = static_cast<uint8_t>(lastSectors - 1);
  s.patchedSeg = pages - 1;
  return 0;
}

long Blkfront::submit(uint32_t slot, uint8_t op, uint64_t sector, uint32_t sectors) {
  if (!connected_ || broken_) return -XEN_EIO;
  if (slot >= kSlots || slots_[slot].state != SlotState::Acquired) return -XEN_EINVAL;
  if (RING_FULL(&front_)) return -XEN_EBUSY;
  Slot& s = slots_[slot];
  blkif_request req{};
  s.wireOp = op;
  if (op == BLKIF_OP_READ || op == BLKIF_OP_WRITE) {
    if (sectors == 0 || sectors > maxSectors()) return -XEN_EINVAL;
    const uint32_t pages = blkif::pagesFor(sectors);
    if (!options_.persistentGrants) {
      s.nrefs = 0;
      for (uint32_t i = 0; i < pages; ++i) {
        const uint64_t gfn = reinterpret_cast<uintptr_t>(data(slot)) / kPage + i;
        // The backend only reads our pages for a write.
        const long ref = gnttab::grantAccess(info_.backendId, gfn, op == BLKIF_OP_WRITE);
        if (ref < 0) {
          endGrants(s);
          return ref;
        }
        s.refs[s.nrefs++] = static_cast<grant_ref_t>(ref);
      }
    }
    if (pages > kDirectSegments) {
      const long rc = fillIndirect(s, slot, sectors);
      if (rc != 0) {
        if (!options_.persistentGrants) endGrants(s);
        return rc;
      }
      blkif_request_indirect ind{};
      ind.operation = BLKIF_OP_INDIRECT;
      ind.indirect_op = op;
      ind.nr_segments = static_cast<uint16_t>(pages);
      ind.id = slot;
      ind.sector_number = sector;
      ind.indirect_grefs[0] = s.indirectRef;
      static_assert(sizeof(ind) <= sizeof(req));
      memcpy(&req, &ind, sizeof(ind));
      s.wireOp = BLKIF_OP_INDIRECT;
    } else if (!blkif::buildReadWrite(req, op, slot, sector, sectors, s.refs, s.nrefs)) {
      if (!options_.persistentGrants) endGrants(s);
      return -XEN_EINVAL;
    }
  } else if (!blkif::buildFlush(req, op, slot)) {
    return -XEN_EINVAL;
  }
  s.op = op;
  s.sector = sector;
  s.sectors = sectors;
  s.status = BLKIF_RSP_ERROR;
  *RING_GET_REQUEST(&front_, front_.req_prod_pvt) = req;
  front_.req_prod_pvt++;
  s.state = SlotState::InFlight;
  ++requests_;
  int notify = 0;
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front_, notify);
  if (notify) events::send(info_.port);
  return 0;
}

long Blkfront::reap() {
  for (;;) {
    const RING_IDX rp = __atomic_load_n(&sring_->rsp_prod, __ATOMIC_ACQUIRE);
    // More responses than requests outstanding: the backend broke the ring
    // (Linux's RING_RESPONSE_PROD_OVERFLOW check).
    if (rp - front_.rsp_cons > front_.req_prod_pvt - front_.rsp_cons) {
      broken_ = true;
      return -XEN_EIO;
    }
    for (RING_IDX i = front_.rsp_cons; i != rp; ++i) {
      blkif_response r;
      memcpy(&r, RING_GET_RESPONSE(&front_, i), sizeof(r));
      // The id is the backend's echo of ours: it must name a request in flight.
      if (r.id >= kSlots || slots_[r.id].state != SlotState::InFlight || r.operation != slots_[r.id].wireOp) {
        broken_ = true;
        return -XEN_EIO;
      }
      Slot& s = slots_[r.id];
      s.status = r.status;
      if (!options_.persistentGrants) endGrants(s);
      s.state = SlotState::Done;
    }
    front_.rsp_cons = rp;
    int more = 0;
    RING_FINAL_CHECK_FOR_RESPONSES(&front_, more);
    if (!more) return 0;
  }
}

long Blkfront::waitAny(uint32_t& slot, int16_t& status, uint64_t deadlineNs) {
  for (;;) {
    for (uint32_t i = 0; i < kSlots; ++i) {
      if (slots_[i].state == SlotState::Done) {
        slots_[i].state = SlotState::Acquired;
        slot = i;
        status = slots_[i].status;
        return 0;
      }
    }
    if (broken_) return -XEN_EIO;
    if (inFlight() == 0) return -XEN_EINVAL;
    portwait::clear(info_.port);
    long rc = reap();
    if (rc != 0) return rc;
    bool done = false;
    for (const Slot& s : slots_) done = done || s.state == SlotState::Done;
    if (done) continue;
    if (!portwait::wait(info_.port, deadlineNs)) return -XEN_ETIMEDOUT;
  }
}
