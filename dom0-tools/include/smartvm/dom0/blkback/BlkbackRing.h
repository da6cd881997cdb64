#pragma once
// The backend's side of one blkif shared ring: takes the queued requests off
// it in order (each copied before it is looked at, so the frontend cannot
// change it under us), has the engine carry them out as one batch, and puts
// the responses back in the same order.
// A frontend whose producer index claims more requests than the ring holds
// is misbehaving: the ring stops being served (Xen's blkback does the same),
// nothing is read past it, and the backend process carries on.
#include <cstddef>
#include <cstdint>
#include <cstring>  // Xen's headers use these without including them
#include <vector>

#include <xen/io/blkif.h>

#include "smartvm/dom0/blkback/BlkbackEngine.h"

namespace smartvm::dom0::blkback {

class BlkbackRing {
 public:
  /// `sring` is the shared page(s) the frontend granted, `bytes` long.
  BlkbackRing(blkif_sring* sring, size_t bytes);

  struct Round {
    unsigned served = 0;
    bool notify = false;  ///< the frontend asked to be told (rsp_event)
  };
  /// Serves what the frontend has queued, `budget` requests at most.
  Round serve(BlkbackEngine& engine, unsigned budget = ~0u);
  bool broken() const { return broken_; }
  unsigned size() const { return ring_.nr_ents; }

 private:
  blkif_back_ring_t ring_{};
  bool broken_ = false;
  std::vector<blkif_request> reqs_;  ///< this round's, reused between rounds
  std::vector<blkif_response> rsps_;
};

}  // namespace smartvm::dom0::blkback
