#include "smartvm/dom0/smartvmd/RotatingLog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace smartvm::dom0 {

Status RotatingLog::open() {
  std::error_code ec;
  const auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return error(ec.value(), "cannot create " + dir.string() + ": " + ec.message());
  fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_.valid()) return errnoStatus("open " + path_);
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return errnoStatus("stat " + path_);
  size_ = static_cast<uint64_t>(st.st_size);
  return Status::ok();
}

Status RotatingLog::rotate() {
  fd_.reset();
  if (keep_ == 0) {
    if (::truncate(path_.c_str(), 0) != 0 && errno != ENOENT) return errnoStatus("truncate " + path_);
  } else {
    for (unsigned i = keep_; i > 1; --i) {
      const std::string from = path_ + "." + std::to_string(i - 1);
      const std::string to = path_ + "." + std::to_string(i);
      if (std::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) return errnoStatus("rename " + from);
    }
    const std::string first = path_ + ".1";
    if (std::rename(path_.c_str(), first.c_str()) != 0 && errno != ENOENT) return errnoStatus("rename " + path_);
  }
  return open();
}

Status RotatingLog::append(std::string_view bytes) {
  if (!fd_.valid()) SMARTVM_TRY(open());
  if (size_ > 0 && size_ + bytes.size() > maxBytes_) SMARTVM_TRY(rotate());
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const Status s = errnoStatus("write " + path_);
      fd_.reset();  // reopened next time: the file may have been removed or the disk freed
      return s;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

}  // namespace smartvm::dom0
