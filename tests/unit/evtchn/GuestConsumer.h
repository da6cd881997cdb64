#pragma once
// Consumes events the way a 2-level guest's upcall handler does (Linux's
// xen_evtchn_do_upcall): clear the upcall flag, take the selector, then take
// every pending unmasked port in the selected words.
#include <atomic>
#include <vector>

#include "smartvm/evtchn/XenEvtchnAbi.h"

namespace smartvm::evtchn::test {

inline std::vector<uint32_t> consumeEvents(shared_info_t& si, uint32_t vcpu) {
  std::vector<uint32_t> ports;
  vcpu_info_t& vi = si.vcpu_info[vcpu];
  std::atomic_ref(vi.evtchn_upcall_pending).store(0);
  xen_ulong_t sel = std::atomic_ref(vi.evtchn_pending_sel).exchange(0);
  while (sel != 0) {
    unsigned word = static_cast<unsigned>(__builtin_ctzl(sel));
    sel &= sel - 1;
    xen_ulong_t ready = std::atomic_ref(si.evtchn_pending[word]).load() &
                        ~std::atomic_ref(si.evtchn_mask[word]).load();
    while (ready != 0) {
      unsigned bit = static_cast<unsigned>(__builtin_ctzl(ready));
      ready &= ready - 1;
      std::atomic_ref(si.evtchn_pending[word]).fetch_and(~(xen_ulong_t{1} << bit));
      ports.push_back(word * 64 + bit);
    }
  }
  return ports;
}

}  // namespace smartvm::evtchn::test
