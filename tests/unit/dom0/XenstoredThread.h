#pragma once
// A real xenstored (XsServerCore behind XsSocketServer) serving a socket from
// a thread of its own, for tests of its dom0 clients: smartvmd's xenstore
// nodes and the smartvm xenstore-* commands.
#include <sys/eventfd.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "smartvm/UniqueFd.h"
#include "smartvm/dom0/xenstore/XsSocketServer.h"

namespace smartvm::dom0::test {

class XenstoredThread {
 public:
  explicit XenstoredThread(std::string socketPath) : path_(std::move(socketPath)) {}
  ~XenstoredThread() { stop(); }

  Status start() {
    SMARTVM_TRY(server_.listen(path_));
    thread_ = std::thread([this] { runStatus_ = server_.run(stop_.get()); });
    return Status::ok();
  }
  void stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd stop_{::eventfd(0, EFD_CLOEXEC)};
  xenstore::XsServerCore core_;
  xenstore::XsSocketServer server_{core_};
  std::thread thread_;
  Status runStatus_;
};

}  // namespace smartvm::dom0::test
