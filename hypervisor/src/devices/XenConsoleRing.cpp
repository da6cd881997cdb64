#include "smartvm/hv/devices/XenConsoleRing.h"

#include <atomic>

namespace smartvm::hv {

namespace {

// The guest updates its half of the indexes concurrently: read each once.
uint32_t load(const XENCONS_RING_IDX& i) { return __atomic_load_n(&i, __ATOMIC_ACQUIRE); }
void store(XENCONS_RING_IDX& i, uint32_t v) { __atomic_store_n(&i, v, __ATOMIC_RELEASE); }

}  // namespace

size_t XenConsoleRing::drainOutput(std::string& out) {
  const uint32_t cons = load(page_->out_cons);
  const uint32_t prod = load(page_->out_prod);
  const uint32_t size = prod - cons;
  if (size == 0) return 0;
  if (size > sizeof(page_->out)) {
    ++bogus_;
    return 0;
  }
  out.reserve(out.size() + size);
  for (uint32_t i = cons; i != prod; ++i) out.push_back(page_->out[MASK_XENCONS_IDX(i, page_->out)]);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // read the bytes before freeing their room
  store(page_->out_cons, prod);
  return size;
}

size_t XenConsoleRing::pushInput(const char* data, size_t len) {
  const uint32_t cons = load(page_->in_cons);
  uint32_t prod = page_->in_prod;  // ours to write
  const uint32_t used = prod - cons;
  if (used > sizeof(page_->in)) {  // the guest's in_cons (or our in_prod it overwrote) is bogus: nothing fits
    ++bogus_;
    return 0;
  }
  size_t n = 0;
  while (n < len && prod - cons < sizeof(page_->in)) {
    page_->in[MASK_XENCONS_IDX(prod, page_->in)] = data[n++];
    ++prod;
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the bytes before the index that shows them
  store(page_->in_prod, prod);
  return n;
}

}  // namespace smartvm::hv
