#pragma once
// An append-only log file that rotates by size, as logrotate's `size` +
// `rotate N` would: when a write would take `path` past `maxBytes`, path.N-1
// becomes path.N (the oldest is dropped), ..., path becomes path.1, and a new
// path is started. A single write larger than `maxBytes` goes to a fresh file.
#include <cstdint>
#include <string>
#include <string_view>

#include "smartvm/Status.h"
#include "smartvm/UniqueFd.h"

namespace smartvm::dom0 {

class RotatingLog {
 public:
  /// `keep`: rotated files kept beside the live one (0: the live file is truncated instead).
  RotatingLog(std::string path, uint64_t maxBytes, unsigned keep)
      : path_(std::move(path)), maxBytes_(maxBytes), keep_(keep) {}

  /// Appends `bytes`, rotating first when they would not fit. Opens (creating
  /// the directory) on first use; a failure is reported and retried next time.
  [[nodiscard]] Status append(std::string_view bytes);
  const std::string& path() const { return path_; }
  /// Size of the live file as this object knows it.
  uint64_t size() const { return size_; }

 private:
  [[nodiscard]] Status open();
  [[nodiscard]] Status rotate();

  std::string path_;
  uint64_t maxBytes_;
  unsigned keep_;
  UniqueFd fd_;
  uint64_t size_ = 0;
};

}  // namespace smartvm::dom0
