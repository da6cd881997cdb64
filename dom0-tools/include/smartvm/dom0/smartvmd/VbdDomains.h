#pragma once
// A domain's PV disks through its life: its config's `disk = [...]` written
// as vbds for smartvm-blkback once the domain's own nodes exist, disks
// hot-plugged and unplugged at run time (block-attach, block-detach), all of
// them re-created on a restart in place (the backend starts each boot from a
// fresh device; libxl likewise keeps hot-plugged disks in the domain's stored
// config), detached when the domain goes. Like every DomainHooks, the hooks'
// failures are logged (and shown by `block-list`), not thrown at the caller;
// attach and detach answer theirs.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "smartvm/dom0/smartvmd/DomainHooks.h"
#include "smartvm/dom0/smartvmd/VbdNodes.h"

namespace smartvm::dom0 {

class VbdDomains final : public DomainHooks {
 public:
  /// `backendTimeout`: how long each attach waits for smartvm-blkback to take a disk.
  explicit VbdDomains(std::string xenstoredSocket, std::chrono::milliseconds backendTimeout = VbdNodes::kBackendTimeout)
      : vbd_(std::move(xenstoredSocket)), backendTimeout_(backendTimeout) {}

  void onCreated(const v1::DomainInfo& info) override;
  void onRestarted(const v1::DomainInfo& info) override;
  void onDestroyed(uint32_t domid) override;

  /// Attaches every disk `info`'s domain has (disksOf); the first failure,
  /// after trying them all. The caller keeps other changes to the domain's disks away.
  [[nodiscard]] Status attachAll(const v1::DomainInfo& info);

  /// Hot-plugs `disk` into `info`'s domain and waits for smartvm-blkback to take
  /// it; it is remembered for restarts in place until detached or the domain goes.
  /// EEXIST when the vdev is attached already, ENOSPC at DomainConfigRules::kMaxDisks,
  /// EIO with the backend's reason when it refused the disk, ETIMEDOUT when no
  /// backend answered; after a failure the disk's nodes are gone again.
  [[nodiscard]] Result<VbdNodes::Disk> attach(const v1::DomainInfo& info, const v1::DiskSpec& disk);
  /// Unplugs disk `devid` (from the config or hot-plugged) and forgets it for
  /// restarts in place. ENOENT when the domain has no such disk.
  [[nodiscard]] Status detach(uint32_t domid, uint32_t devid);
  /// The domain's vbds as xenstore shows them, in device number order.
  [[nodiscard]] Result<std::vector<VbdNodes::Disk>> list(uint32_t domid) { return vbd_.list(domid); }
  /// The disks `info`'s domain has now: its config's, less the detached, plus the hot-plugged.
  std::vector<v1::DiskSpec> disksOf(const v1::DomainInfo& info) const;

 private:
  /// What block-attach and block-detach changed against a domain's config.
  struct Hotplug {
    std::vector<v1::DiskSpec> attached;  ///< in attach order; replaces a config disk of the same devid
    std::set<uint32_t> detached;         ///< devids the config has that are not to come back
  };

  /// Attaches `disks` and waits for the backend; the first failure, after trying them all.
  Status attachDisks(const v1::DomainInfo& info, const std::vector<v1::DiskSpec>& disks);
  /// EEXIST when the domain has `devid` already, ENOSPC when it has kMaxDisks.
  Status checkFree(const v1::DomainInfo& info, uint32_t devid, const v1::DiskSpec& disk);
  void forget(uint32_t domid);

  VbdNodes vbd_;
  const std::chrono::milliseconds backendTimeout_;
  /// One change to vbds at a time (create, attach, detach, restart, destroy):
  /// a restart in place never interleaves with a hot-plug, so what is
  /// remembered matches xenstore. Held across backend waits, unlike `mu_`.
  std::mutex changing_;
  mutable std::mutex mu_;  ///< guards hotplug_ (read by every GetDomain)
  std::map<uint32_t, Hotplug> hotplug_;
};

}  // namespace smartvm::dom0
