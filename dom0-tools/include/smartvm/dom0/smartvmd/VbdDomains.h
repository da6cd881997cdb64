#pragma once
// A domain's PV disks (its config's `disk = [...]`) through its life: written
// as vbds for smartvm-blkback once the domain's own nodes exist, re-created
// on a restart in place (the backend starts each boot from a fresh device),
// detached when the domain goes. Like every DomainHooks, failures are logged
// (and shown by `block-list`), not thrown at the caller.
#include <string>

#include "smartvm/dom0/smartvmd/DomainHooks.h"
#include "smartvm/dom0/smartvmd/VbdNodes.h"

namespace smartvm::dom0 {

class VbdDomains final : public DomainHooks {
 public:
  explicit VbdDomains(std::string xenstoredSocket) : vbd_(std::move(xenstoredSocket)) {}

  void onCreated(const v1::DomainInfo& info) override;
  void onRestarted(const v1::DomainInfo& info) override;
  void onDestroyed(uint32_t domid) override;

  /// Attaches every disk of `info`'s config; the first failure, after trying them all.
  [[nodiscard]] Status attachAll(const v1::DomainInfo& info);

 private:
  VbdNodes vbd_;
};

}  // namespace smartvm::dom0
