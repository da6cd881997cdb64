#pragma once
// dom0's door to xenstored: a Unix socket whose clients are privileged
// (domid 0), served by one thread with poll(2), as C xenstored serves its socket.
#include <cstdint>
#include <map>
#include <string>

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
  size_t clientCount() const { return clients_.size(); }

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
};

}  // namespace smartvm::dom0::xenstore
