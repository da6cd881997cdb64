#pragma once
// The split-driver rig for real-guest tests: smartvm-hv's Hypervisor and
// control socket, xenstored (core, socket and domain attacher) and the block
// backend daemon, each on its own thread in this process, on sockets in a
// temporary directory, as the real daemons run on the host.
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "smartvm/UniqueFd.h"
#include "smartvm/dom0/blkback/BlkbackDaemon.h"
#include "smartvm/dom0/xenstore/XsDomainAttacher.h"
#include "smartvm/dom0/xenstore/XsHvGuestAccess.h"
#include "smartvm/dom0/xenstore/XsServerCore.h"
#include "smartvm/dom0/xenstore/XsSocketServer.h"
#include "smartvm/hv/ControlServer.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm::test {

class PvRig {
 public:
  PvRig() {
    char tmpl[] = "/tmp/smartvm-pv-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  }
  ~PvRig() { stop(); }

  const std::string& dir() const { return dir_; }
  std::string hvSocket() const { return dir_ + "/hv.sock"; }
  std::string xenstoredSocket() const { return dir_ + "/xenstored.sock"; }
  hv::Hypervisor& hv() { return *hv_; }

  /// Why the rig cannot run here ("" when it can): /dev/kvm, qemu-storage-daemon.
  static std::string unavailableReason(bool needStorage) {
    const std::string kvm = hv::kvmUnavailableReason();
    if (!kvm.empty()) return "/dev/kvm unusable: " + kvm;
    if (needStorage && std::system("command -v qemu-storage-daemon >/dev/null 2>&1 && command -v qemu-img "
                                   ">/dev/null 2>&1") != 0) {
      return "qemu-storage-daemon or qemu-img not installed (scripts/install-deps.sh)";
    }
    return "";
  }

  /// Starts smartvm-hv's part and xenstored.
  Status startHvAndXenstored() {
    if (dir_.empty()) return error(EIO, "no temporary directory");
    SMARTVM_ASSIGN_OR_RETURN(platform_, hv::KvmPlatform::open());
    hv_ = std::make_unique<hv::Hypervisor>(*platform_, hv::HypervisorOptions{});
    server_ = std::make_unique<hv::ControlServer>(*hv_, "kvm", nullptr);
    SMARTVM_TRY(server_->start(hvSocket()));
    xsCore_ = std::make_unique<dom0::xenstore::XsServerCore>();
    xsServer_ = std::make_unique<dom0::xenstore::XsSocketServer>(*xsCore_);
    SMARTVM_TRY(xsServer_->listen(xenstoredSocket()));
    xsHv_ = std::make_unique<dom0::xenstore::XsHvGuestAccess>(hvSocket());
    attacher_ = std::make_unique<dom0::xenstore::XsDomainAttacher>(*xsCore_, *xsServer_, *xsHv_);
    SMARTVM_TRY(attacher_->bindDomExc());
    xsStop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
    xsThread_ = std::thread([this] { (void)xsServer_->run(xsStop_.get()); });
    return Status::ok();
  }

  /// Starts the block backend daemon (after startHvAndXenstored).
  /// smartvm-hv, xenstored and smartvm-blkback: what every PV block test needs.
  Status startWithBlkback() {
    SMARTVM_TRY(startHvAndXenstored());
    return startBlkback();
  }

  /// An all-zero raw image of `bytes` in the rig's directory; its path.
  std::string makeRawImage(const std::string& name, uint64_t bytes) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path).close();
    std::filesystem::resize_file(path, bytes);
    return path;
  }

  /// The block backend started next offers feature-persistent (its --no-persistent-grants when false).
  bool blkbackPersistentGrants = true;

  Status startBlkback() {
    dom0::blkback::BlkbackDaemon::Options o;
    o.xenstoredSocket = xenstoredSocket();
    o.hvSocket = hvSocket();
    o.runDir = dir_ + "/blkback";
    o.persistentGrants = blkbackPersistentGrants;
    blkback_ = std::make_unique<dom0::blkback::BlkbackDaemon>(o);
    SMARTVM_TRY(blkback_->start());
    blkStop_ = false;
    blkThread_ = std::thread([this] {
      while (!blkStop_.load()) {
        {
          std::lock_guard lk(blkMu_);
          if (!blkback_->runOnce(std::chrono::milliseconds(100)).isOk()) return;
        }
        // std::mutex is not fair: let a waiting question in between two rounds.
        if (blkAsking_.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    return Status::ok();
  }

  /// Whether the block backend serves (domid, devid) now, asked between two of its loop's rounds.
  bool blkServes(uint32_t domid, uint32_t devid) {
    const Asking asking(blkAsking_);
    std::lock_guard lk(blkMu_);
    return blkback_ && blkback_->device(domid, devid) != nullptr;
  }
  /// What the block backend's device (domid, devid) did with persistent grants; nullopt when not served.
  struct BlkPersistent {
    bool persistent = false;  ///< the current or last connection used them
    uint64_t maps = 0;        ///< grants mapped over it
    uint64_t live = 0;        ///< mappings held now
    uint64_t served = 0;      ///< requests served (all connections)
  };
  std::optional<BlkPersistent> blkPersistent(uint32_t domid, uint32_t devid) {
    const Asking asking(blkAsking_);
    std::lock_guard lk(blkMu_);
    const auto* d = blkback_ ? blkback_->device(domid, devid) : nullptr;
    if (d == nullptr) return std::nullopt;
    return BlkPersistent{d->persistentGrants(), d->persistentMaps(), d->persistentLive(), d->requestsServed()};
  }
  size_t blkDeviceCount() {
    const Asking asking(blkAsking_);
    std::lock_guard lk(blkMu_);
    return blkback_ ? blkback_->deviceCount() : 0;
  }

  /// The storage daemon's pid (for kill tests), read on the daemon's thread's behalf: racy only against restarts.
  pid_t storagePid() { return blkback_ ? blkback_->storage().pid() : -1; }

  void stop() {
    if (blkThread_.joinable()) {
      blkStop_ = true;
      blkThread_.join();
    }
    if (blkback_) blkback_->stop();
    blkback_.reset();
    if (xsThread_.joinable()) {
      const uint64_t one = 1;
      (void)!::write(xsStop_.get(), &one, sizeof one);
      xsThread_.join();
    }
    attacher_.reset();
    xsHv_.reset();
    xsServer_.reset();
    xsCore_.reset();
    if (server_) server_->stop();
    server_.reset();
    hv_.reset();
    platform_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

 private:
  struct Asking {
    explicit Asking(std::atomic<int>& n) : n_(n) { ++n_; }
    ~Asking() { --n_; }
    std::atomic<int>& n_;
  };

  std::string dir_;
  std::unique_ptr<hv::KvmPlatform> platform_;
  std::unique_ptr<hv::Hypervisor> hv_;
  std::unique_ptr<hv::ControlServer> server_;
  std::unique_ptr<dom0::xenstore::XsServerCore> xsCore_;
  std::unique_ptr<dom0::xenstore::XsSocketServer> xsServer_;
  std::unique_ptr<dom0::xenstore::XsHvGuestAccess> xsHv_;
  std::unique_ptr<dom0::xenstore::XsDomainAttacher> attacher_;
  UniqueFd xsStop_;
  std::thread xsThread_;
  std::unique_ptr<dom0::blkback::BlkbackDaemon> blkback_;
  std::atomic<bool> blkStop_{false};
  std::mutex blkMu_;  // the backend loop's rounds vs the tests' questions
  std::atomic<int> blkAsking_{0};
  std::thread blkThread_;
};

}  // namespace smartvm::test
