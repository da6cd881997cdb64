// One direction of a Xen byte ring (xen/io/console.h, xen/io/xs_wire.h): a
// power-of-two buffer in a page shared with the other end, and free-running
// 32-bit producer and consumer indexes masked into it.
//
// Pure logic over memory the caller supplies, so host unit tests run it on a
// heap page. The other end's index is read once per call (acquire) and
// checked: a peer that claims more than a ring's worth of data or space is
// broken, and nothing outside the buffer is ever touched.
#pragma once
#include <stddef.h>
#include <stdint.h>

class ByteRing {
 public:
  /// buf[size] (size a power of two), with the two indexes of this direction.
  ByteRing(char* buf, uint32_t size, uint32_t* prod, uint32_t* cons)
      : buf_(buf), size_(size), prod_(prod), cons_(cons) {}

  /// Producer side: copies up to n bytes of src behind the producer index,
  /// then publishes them (release). Returns the bytes written (0 when full),
  /// or -1 when the indexes are inconsistent (prod - cons > size).
  long write(const void* src, size_t n);

  /// Consumer side: copies up to n bytes out and releases their space.
  /// Returns the bytes read (0 when empty), or -1 for inconsistent indexes.
  long read(void* dst, size_t n);

  /// Bytes waiting to be consumed, or -1 for inconsistent indexes.
  long used() const;

  /// Bytes that fit before the ring is full, or -1 for inconsistent indexes.
  long space() const;

  uint32_t size() const { return size_; }

 private:
  char* buf_;
  uint32_t size_;
  uint32_t* prod_;
  uint32_t* cons_;
};
