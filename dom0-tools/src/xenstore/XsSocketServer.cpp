#include "smartvm/dom0/xenstore/XsSocketServer.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <vector>

namespace smartvm::dom0::xenstore {

XsSocketServer::~XsSocketServer() {
  for (auto& [fd, client] : clients_) core_.removeConnection(client.connId);
  if (listen_.valid()) ::unlink(path_.c_str());
}

Status XsSocketServer::listen(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return error(ENAMETOOLONG, "socket path too long: " + path);
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return error(ec.value(), "cannot create " + dir.string() + ": " + ec.message());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errnoStatus("socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());  // a socket left behind by a crashed run
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return errnoStatus("bind " + path);
  if (::chmod(path.c_str(), 0600) < 0) return errnoStatus("chmod " + path);
  if (::listen(fd.get(), 64) < 0) return errnoStatus("listen " + path);
  listen_ = std::move(fd);
  path_ = path;
  spdlog::info("xenstored listening on {}", path);
  return Status::ok();
}

Status XsSocketServer::run(int stopFd) {
  for (;;) {
    SMARTVM_ASSIGN_OR_RETURN(const bool more, runOnce(stopFd, -1));
    if (!more) return Status::ok();
  }
}

void XsSocketServer::watchFd(int fd, std::function<void()> onReadable) {
  watched_[fd] = Watched{nextSerial_++, std::move(onReadable)};
}

void XsSocketServer::unwatchFd(int fd) { watched_.erase(fd); }

Result<bool> XsSocketServer::runOnce(int stopFd, int timeoutMs) {
  std::vector<pollfd> fds;
  fds.push_back({stopFd, POLLIN, 0});
  fds.push_back({listen_.get(), POLLIN, 0});
  for (auto& [fd, client] : clients_) {
    const XsConnection* conn = core_.connection(client.connId);
    const bool backlog = !client.pending.empty() || (conn != nullptr && conn->hasOutput());
    fds.push_back({fd, static_cast<short>(POLLIN | (backlog ? POLLOUT : 0)), 0});
  }
  const size_t firstWatched = fds.size();
  std::vector<uint64_t> serials;
  for (auto& [fd, w] : watched_) {
    fds.push_back({fd, POLLIN, 0});
    serials.push_back(w.serial);
  }
  if (::poll(fds.data(), fds.size(), timeoutMs) < 0) {
    if (errno == EINTR) return true;
    return errnoStatus("poll");
  }
  if (fds[0].revents != 0) return false;
  if (fds[1].revents & POLLIN) acceptClient();
  for (size_t i = 2; i < firstWatched; ++i) {
    auto it = clients_.find(fds[i].fd);
    if (it == clients_.end() || fds[i].revents == 0) continue;
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) && !readFrom(it->second)) dropClient(fds[i].fd);
  }
  for (size_t i = firstWatched; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    // An earlier callback may have removed this watch, or replaced it with another on the same number.
    auto it = watched_.find(fds[i].fd);
    if (it == watched_.end() || it->second.serial != serials[i - firstWatched]) continue;
    auto callback = it->second.onReadable;  // a copy: the callback may unwatch itself
    callback();
  }
  // Watch events land on any connection, so every client is flushed, not only the active ones.
  std::vector<int> gone;
  for (auto& [fd, client] : clients_) {
    if (!flush(client)) gone.push_back(fd);
  }
  for (int fd : gone) dropClient(fd);
  return true;
}

void XsSocketServer::acceptClient() {
  UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd.valid()) {
    spdlog::warn("xenstored: accept: {}", std::strerror(errno));
    return;
  }
  const int raw = fd.get();
  const uint64_t connId = core_.addConnection(0).id();
  clients_[raw] = Client{std::move(fd), connId, {}};
  spdlog::debug("xenstored: client {} connected", connId);
}

bool XsSocketServer::readFrom(Client& client) {
  char buf[8192];
  const ssize_t n = ::read(client.fd.get(), buf, sizeof buf);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;
  XsConnection* conn = core_.connection(client.connId);
  if (conn == nullptr) return false;
  core_.receive(*conn, std::string_view(buf, static_cast<size_t>(n)));
  return true;
}

bool XsSocketServer::flush(Client& client) {
  XsConnection* conn = core_.connection(client.connId);
  if (conn == nullptr) return false;
  // Take more only when the socket took everything: the backlog then stays in
  // the connection, where the core's limit on queued output sees it.
  while (!client.pending.empty() || conn->hasOutput()) {
    if (client.pending.empty()) client.pending = conn->takeOutput();
    const ssize_t n = ::send(client.fd.get(), client.pending.data(), client.pending.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    client.pending.erase(0, static_cast<size_t>(n));
  }
  // A closed connection (protocol violation) goes once its last reply is out.
  return !conn->closed();
}

void XsSocketServer::dropClient(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  spdlog::debug("xenstored: client {} gone", it->second.connId);
  core_.removeConnection(it->second.connId);
  clients_.erase(it);
}

}  // namespace smartvm::dom0::xenstore
