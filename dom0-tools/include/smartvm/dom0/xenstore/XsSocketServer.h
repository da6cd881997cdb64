#pragma once
// dom0's door to xenstored: a Unix socket whose clients are privileged
// (domid 0), served by one thread with poll(2), as C xenstored serves its socket.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/Status.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/dom0/xenstore/XsServerCore.h"

namespace smartvm::dom0::xenstore {

class XsSocketServer {
 public:
  explicit XsSocketServer(XsServerCore& core) : core_(core) {}
  ~XsSocketServer();
  XsSocketServer(const XsSocketServer&) = delete;
  XsSocketServer& operator=(const XsSocketServer&) = delete;

  /// Binds `path` (creating its directory, replacing a stale socket), mode 0600:
  /// whoever connects acts as dom0.
  [[nodiscard]] Status listen(const std::string& path);
  /// Serves clients until `stopFd` is readable (an eventfd, a signalfd).
  [[nodiscard]] Status run(int stopFd);
  /// One round of the loop: waits up to `timeoutMs` (-1 = no limit) for any
  /// descriptor, handles what is ready. False once `stopFd` is readable.
  [[nodiscard]] Result<bool> runOnce(int stopFd, int timeoutMs);
  size_t clientCount() const { return clients_.size(); }

  /// Adds `fd` to the loop: `onReadable` runs when it polls readable (guest
  /// event channels, VIRQ_DOM_EXC). The callback may add and remove watches,
  /// its own included. The caller keeps the fd open until unwatchFd.
  void watchFd(int fd, std::function<void()> onReadable);
  void unwatchFd(int fd);
  size_t watchedFdCount() const { return watched_.size(); }

 private:
  struct Client {
    UniqueFd fd;
    uint64_t connId = 0;
    std::string pending;  // reply bytes the socket did not take yet
  };

  void acceptClient();
  /// False when the client hung up or failed.
  bool readFrom(Client& client);
  bool flush(Client& client);
  void dropClient(int fd);

  XsServerCore& core_;
  UniqueFd listen_;
  std::string path_;
  std::map<int, Client> clients_;
  struct Watched {
    uint64_t serial = 0;  // tells a re-added fd from the one polled
    std::function<void()> onReadable;
  };
  std::map<int, Watched> watched_;
  uint64_t nextSerial_ = 1;
};

}  // namespace smartvm::dom0::xenstore
