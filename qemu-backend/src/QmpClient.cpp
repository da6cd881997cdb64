#include "smartvm/qemu/QmpClient.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace smartvm::qemu {

namespace {

using Clock = std::chrono::steady_clock;

/// A reply line bigger than this is not QMP talking: refuse it rather than
/// buffer without end.
constexpr size_t kMaxLine = 16 * 1024 * 1024;

/// A string member of `j`, or `fallback` when missing or not a string (no
/// exceptions from a reply of the wrong shape).
std::string stringField(const nlohmann::json& j, const char* key, const char* fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int msLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

}  // namespace

int qmpErrorCode(const std::string& errorClass) {
  if (errorClass == "CommandNotFound") return ENOSYS;
  if (errorClass == "DeviceNotFound") return ENODEV;
  if (errorClass == "DeviceNotActive") return ENODEV;
  if (errorClass == "KVMMissingCap") return ENOTSUP;
  return EINVAL;  // GenericError: bad arguments, a node name in use, a file that will not open...
}

Result<QmpClient> QmpClient::connect(const std::string& socketPath, Ms timeout) {
  sockaddr_un addr{};
  if (socketPath.size() >= sizeof(addr.sun_path)) return error(ENAMETOOLONG, "QMP socket path too long: " + socketPath);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  const auto deadline = Clock::now() + timeout;
  int lastErrno = 0;
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return errnoStatus("socket for QMP");
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      return handshake(std::move(fd), std::chrono::duration_cast<Ms>(deadline - Clock::now()) + Ms(1));
    }
    lastErrno = errno;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(Ms(10));
  }
  return error(lastErrno, "cannot connect to QMP at " + socketPath + ": " + std::strerror(lastErrno));
}

Result<QmpClient> QmpClient::handshake(UniqueFd fd, Ms timeout) {
  QmpClient c(std::move(fd));
  const auto deadline = Clock::now() + timeout;
  SMARTVM_ASSIGN_OR_RETURN(Json greeting, c.readMessage(deadline));
  if (!greeting.contains("QMP") || !greeting["QMP"].is_object()) {
    return error(EPROTO, "not a QMP greeting: " + greeting.dump().substr(0, 200));
  }
  if (auto v = greeting["QMP"].find("version"); v != greeting["QMP"].end() && v->is_object()) c.version_ = *v;
  auto caps = c.execute("qmp_capabilities", Json::object(),
                        std::chrono::duration_cast<Ms>(deadline - Clock::now()) + Ms(1));
  if (!caps.isOk()) return caps.status();
  return c;
}

Status QmpClient::send(const Json& message) {
  const std::string line = message.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoStatus("QMP send");
    }
    off += static_cast<size_t>(n);
  }
  return Status::ok();
}

Result<QmpClient::Json> QmpClient::readMessage(Clock::time_point deadline) {
  for (;;) {
    if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return error(EPROTO, "QMP sent a line that is not a JSON object: " + line.substr(0, 200));
      return j;
    }
    if (buffer_.size() > kMaxLine) return error(EPROTO, "QMP line longer than 16 MiB");
    pollfd p{fd_.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, msLeft(deadline));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errnoStatus("QMP poll");
    }
    if (r == 0) return error(ETIMEDOUT, "QMP did not answer in time");
    char chunk[4096];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errnoStatus("QMP recv");
    }
    if (n == 0) return error(ECONNRESET, "QMP connection closed");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

Result<QmpClient::Json> QmpClient::execute(const std::string& command, const Json& arguments, Ms timeout) {
  const uint64_t id = nextId_++;
  Json msg = {{"execute", command}, {"id", id}};
  if (!arguments.empty()) msg["arguments"] = arguments;
  SMARTVM_TRY(send(msg));
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    SMARTVM_ASSIGN_OR_RETURN(Json reply, readMessage(deadline));
    if (reply.contains("event")) {
      events_.push_back(std::move(reply));
      continue;
    }
    if (!reply.contains("id") || reply["id"] != id) continue;  // a late reply to a command that timed out
    if (reply.contains("return")) return reply["return"];
    if (reply.contains("error") && reply["error"].is_object()) {
      const std::string cls = stringField(reply["error"], "class", "GenericError");
      const std::string desc = stringField(reply["error"], "desc", "no description");
      return error(qmpErrorCode(cls), command + ": " + desc + " (" + cls + ")");
    }
    return error(EPROTO, "QMP reply to " + command + " has neither return nor error");
  }
}

std::deque<QmpClient::Json> QmpClient::takeEvents() { return std::exchange(events_, {}); }

}  // namespace smartvm::qemu
