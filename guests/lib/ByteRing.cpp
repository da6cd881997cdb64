#include "lib/ByteRing.h"

namespace {

uint32_t load(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void store(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace

long ByteRing::used() const {
  const uint32_t n = load(prod_) - load(cons_);
  return n > size_ ? -1 : static_cast<long>(n);
}

long ByteRing::space() const {
  const long n = used();
  return n < 0 ? -1 : static_cast<long>(size_) - n;
}

long ByteRing::write(const void* src, size_t n) {
  // The consumer index is the peer's: read it once, then trust only our copy.
  const uint32_t cons = load(cons_);
  const uint32_t prod = *prod_;
  const uint32_t inUse = prod - cons;
  if (inUse > size_) return -1;
  size_t todo = size_ - inUse;
  if (todo > n) todo = n;
  const auto* from = static_cast<const char*>(src);
  const uint32_t at = prod & (size_ - 1);
  const size_t first = todo < size_ - at ? todo : size_ - at;
  __builtin_memcpy(buf_ + at, from, first);
  __builtin_memcpy(buf_, from + first, todo - first);
  // The bytes must be visible before the index that publishes them.
  store(prod_, prod + static_cast<uint32_t>(todo));
  return static_cast<long>(todo);
}

long ByteRing::read(void* dst, size_t n) {
  const uint32_t prod = load(prod_);  // acquire: the bytes behind it are visible
  const uint32_t cons = *cons_;
  const uint32_t avail = prod - cons;
  if (avail > size_) return -1;
  size_t todo = avail < n ? avail : n;
  auto* to = static_cast<char*>(dst);
  const uint32_t at = cons & (size_ - 1);
  const size_t first = todo < size_ - at ? todo : size_ - at;
  __builtin_memcpy(to, buf_ + at, first);
  __builtin_memcpy(to + first, buf_, todo - first);
  // Release: our reads are done before the producer may overwrite the space.
  store(cons_, cons + static_cast<uint32_t>(todo));
  return static_cast<long>(todo);
}
