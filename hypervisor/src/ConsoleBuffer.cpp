#include "smartvm/hv/ConsoleBuffer.h"

#include <algorithm>

namespace smartvm::hv {

void ConsoleBuffer::append(const char* data, size_t len) {
  {
    std::lock_guard lk(m_);
    bytes_.insert(bytes_.end(), data, data + len);
    if (bytes_.size() > limit_) {
      const size_t drop = bytes_.size() - limit_;
      bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(drop));
      first_ += drop;
    }
  }
  cv_.notify_all();
}

ConsoleBuffer::Chunk ConsoleBuffer::read(uint64_t offset, size_t maxBytes, std::chrono::milliseconds wait) {
  std::unique_lock lk(m_);
  auto end = [this] { return first_ + bytes_.size(); };
  if (offset >= end() && !closed_ && wait.count() > 0) {
    cv_.wait_for(lk, wait, [&] { return closed_ || offset < end(); });
  }
  const uint64_t from = std::clamp(offset, first_, end());
  const size_t n = static_cast<size_t>(std::min<uint64_t>(end() - from, maxBytes));
  const auto begin = bytes_.begin() + static_cast<std::ptrdiff_t>(from - first_);
  return Chunk{std::string(begin, begin + static_cast<std::ptrdiff_t>(n)), from + n, first_, closed_};
}

void ConsoleBuffer::close() {
  {
    std::lock_guard lk(m_);
    closed_ = true;
  }
  cv_.notify_all();
}

uint64_t ConsoleBuffer::endOffset() const {
  std::lock_guard lk(m_);
  return first_ + bytes_.size();
}

std::string ConsoleBuffer::snapshot() const {
  std::lock_guard lk(m_);
  return std::string(bytes_.begin(), bytes_.end());
}

}  // namespace smartvm::hv
