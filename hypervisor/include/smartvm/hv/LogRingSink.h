#pragma once
// Keeps the hypervisor's recent log lines for `smartvm dmesg` (xl dmesg).
#include <spdlog/sinks/base_sink.h>

#include <deque>
#include <mutex>
#include <string>

namespace smartvm::hv {

class LogRingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogRingSink(size_t maxLines = 4000) : max_(maxLines) {}

  /// The held lines, oldest first; `clear` empties the ring afterwards (dmesg -c).
  std::string text(bool clear) {
    std::lock_guard lk(mutex_);
    std::string out;
    for (const auto& l : lines_) out += l;
    if (clear) lines_.clear();
    return out;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    lines_.emplace_back(buf.data(), buf.size());
    if (lines_.size() > max_) lines_.pop_front();
  }
  void flush_() override {}

 private:
  size_t max_;
  std::deque<std::string> lines_;
};

}  // namespace smartvm::hv
