#include "smartvm/dom0/smartvmd/ListenAddress.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "smartvm/MessageSocket.h"

namespace smartvm::dom0 {
namespace {

bool validPort(std::string_view port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return !port.empty() && ec == std::errc() && end == port.data() + port.size() && value <= 65535;
}

Status badAddress(const std::string& text) {
  return error(EINVAL, fmt::format("bad listen address '{}': expected unix:/path or host:port", text));
}

}  // namespace

Result<ListenAddress> ListenAddress::parse(const std::string& text) {
  if (text.rfind("unix:", 0) == 0) {
    std::string path = text.substr(5);
    if (path.rfind("//", 0) == 0) path = path.substr(2);
    if (path.empty()) return badAddress(text);
    return ListenAddress{"unix:" + path, path};
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || !validPort(std::string_view(text).substr(colon + 1))) {
    return badAddress(text);
  }
  const std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') return badAddress(text);
  if (host.front() != '[' && host.find(':') != std::string::npos) return badAddress(text);
  return ListenAddress{text, ""};
}

Status ListenAddress::prepare() const {
  if (unixPath.empty()) return Status::ok();
  const std::filesystem::path parent = std::filesystem::path(unixPath).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return error(ec.value(), fmt::format("cannot create {}: {}", parent.string(), ec.message()));
  struct stat st {};
  if (::lstat(unixPath.c_str(), &st) != 0) return Status::ok();
  if (!S_ISSOCK(st.st_mode)) return error(EEXIST, fmt::format("{} exists and is not a socket", unixPath));
  if (MessageSocket::connectUnix(unixPath).isOk()) {
    return error(EADDRINUSE, fmt::format("another daemon is already listening on {}", unixPath));
  }
  return Status::ok();
}

}  // namespace smartvm::dom0
