#include "smartvm/dom0/xenstore/XsRingTransport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace smartvm::dom0::xenstore {
namespace {

// The guest writes these concurrently: one load each, ordered against the
// data accesses around it (the ring's barrier protocol from xs_wire.h).
uint32_t loadIndex(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void storeIndex(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace

XsRingTransport::XsRingTransport(void* page, std::function<void()> notify)
    : intf_(static_cast<xenstore_domain_interface*>(page)), notify_(std::move(notify)) {}

void XsRingTransport::advertiseFeatures() {
  __atomic_store_n(&intf_->server_features, XENSTORE_SERVER_FEATURE_ERROR, __ATOMIC_RELEASE);
}

Status XsRingTransport::fail(const char* what, uint32_t prod, uint32_t cons) {
  broken_ = true;
  __atomic_store_n(&intf_->error, XENSTORE_ERROR_RINGIDX, __ATOMIC_RELEASE);
  spdlog::warn("xenstore ring: hostile {} indexes (prod {}, cons {}); ignoring this ring from now on", what, prod,
               cons);
  return error(EPROTO, std::string("hostile ") + what + " ring indexes");
}

Result<std::string> XsRingTransport::readRequests() {
  if (broken_) return error(EPROTO, "ring is broken");
  const uint32_t cons = loadIndex(&intf_->req_cons);
  const uint32_t prod = loadIndex(&intf_->req_prod);
  // Unsigned wrap-around makes prod - cons the fill level for any honest pair.
  const uint32_t avail = prod - cons;
  if (avail > XENSTORE_RING_SIZE) return fail("request", prod, cons);
  std::string out(avail, '\0');
  for (uint32_t done = 0; done < avail;) {
    const uint32_t off = MASK_XENSTORE_IDX(cons + done);
    const uint32_t chunk = std::min(avail - done, XENSTORE_RING_SIZE - off);
    std::memcpy(out.data() + done, intf_->req + off, chunk);
    done += chunk;
  }
  storeIndex(&intf_->req_cons, cons + avail);
  if (avail > 0 && notify_) notify_();  // the guest may be waiting for room
  return out;
}

Status XsRingTransport::writeResponses(std::string& out) {
  if (broken_) return error(EPROTO, "ring is broken");
  if (out.empty()) return Status::ok();
  const uint32_t cons = loadIndex(&intf_->rsp_cons);
  const uint32_t prod = loadIndex(&intf_->rsp_prod);
  const uint32_t used = prod - cons;
  if (used > XENSTORE_RING_SIZE) return fail("response", prod, cons);
  const uint32_t n = std::min<uint32_t>(XENSTORE_RING_SIZE - used, static_cast<uint32_t>(out.size()));
  for (uint32_t done = 0; done < n;) {
    const uint32_t off = MASK_XENSTORE_IDX(prod + done);
    const uint32_t chunk = std::min(n - done, XENSTORE_RING_SIZE - off);
    std::memcpy(intf_->rsp + off, out.data() + done, chunk);
    done += chunk;
  }
  storeIndex(&intf_->rsp_prod, prod + n);
  out.erase(0, n);
  if (n > 0 && notify_) notify_();
  return Status::ok();
}

}  // namespace smartvm::dom0::xenstore
