#include <atomic>

// ring.h's macros need the barriers of the host they run on.
#define xen_mb() std::atomic_thread_fence(std::memory_order_seq_cst)
#define xen_rmb() std::atomic_thread_fence(std::memory_order_acquire)
#define xen_wmb() std::atomic_thread_fence(std::memory_order_release)

#include "smartvm/dom0/blkback/BlkbackRing.h"

#include "smartvm/Log.h"

namespace smartvm::dom0::blkback {

BlkbackRing::BlkbackRing(blkif_sring* sring, size_t bytes) { BACK_RING_INIT(&ring_, sring, bytes); }

BlkbackRing::Round BlkbackRing::serve(BlkbackEngine& engine, unsigned budget) {
  Round round;
  if (broken_) return round;
  for (;;) {
    RING_IDX rc = ring_.req_cons;
    const RING_IDX rp = __atomic_load_n(&ring_.sring->req_prod, __ATOMIC_ACQUIRE);
    if (RING_REQUEST_PROD_OVERFLOW(&ring_, rp)) {
      spdlog::warn("blkback: frontend's req_prod {} is {} past our responses on a {}-entry ring; ring no longer served",
                   rp, rp - ring_.rsp_prod_pvt, RING_SIZE(&ring_));
      broken_ = true;
      return round;
    }
    // Every request queued now, copied off the ring, then carried out
    // together (reads and writes in flight at once), then answered in order.
    reqs_.clear();
    while (rc != rp && round.served + reqs_.size() < budget) {
      if (RING_REQUEST_CONS_OVERFLOW(&ring_, rc)) break;
      RING_COPY_REQUEST(&ring_, rc, &reqs_.emplace_back());
      ring_.req_cons = ++rc;
    }
    rsps_.resize(reqs_.size());
    engine.handleBatch(reqs_, rsps_);
    for (const blkif_response& rsp : rsps_) {
      *RING_GET_RESPONSE(&ring_, ring_.rsp_prod_pvt) = rsp;
      ring_.rsp_prod_pvt++;
    }
    round.served += static_cast<unsigned>(reqs_.size());
    int notify = 0;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&ring_, notify);
    round.notify = round.notify || notify != 0;
    if (round.served >= budget) return round;
    int more = 0;
    RING_FINAL_CHECK_FOR_REQUESTS(&ring_, more);
    if (!more) return round;
  }
}

}  // namespace smartvm::dom0::blkback
