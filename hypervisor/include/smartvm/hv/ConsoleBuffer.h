#pragma once
// A domain's console output history: bytes at absolute offsets, the oldest
// dropped past a size limit, with readers that wait for new output.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace smartvm::hv {

class ConsoleBuffer {
 public:
  explicit ConsoleBuffer(size_t limit = 1u << 20) : limit_(limit) {}

  void append(const char* data, size_t len);

  struct Chunk {
    std::string data;
    uint64_t nextOffset;
    uint64_t firstOffset;  ///< oldest byte still held
    bool closed;
  };
  /// Bytes from `offset` (clamped to what is held), at most maxBytes; waits up
  /// to `wait` for output when none is available and the buffer is open.
  Chunk read(uint64_t offset, size_t maxBytes, std::chrono::milliseconds wait);
  /// Wakes waiting readers for good: the domain is gone.
  void close();
  uint64_t endOffset() const;
  /// Everything still held, for tests and crash reports.
  std::string snapshot() const;

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<char> bytes_;
  uint64_t first_ = 0;
  size_t limit_;
  bool closed_ = false;
};

}  // namespace smartvm::hv
