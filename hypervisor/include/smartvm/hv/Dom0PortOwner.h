#pragma once
// One holder of dom0 event channel ports (a control connection), like an open
// /dev/xen/evtchn: the ports bound through it are closed when it goes. It also
// holds the connection's grant mappings (an open /dev/xen/gntdev).
#include "smartvm/hv/Dom0EventChannels.h"
#include "smartvm/hv/Dom0GrantHandles.h"

namespace smartvm::hv {

class Dom0PortOwner {
 public:
  explicit Dom0PortOwner(Dom0EventChannels& dom0) : dom0_(dom0), id_(dom0.openOwner()) {}
  ~Dom0PortOwner() { dom0_.closeOwner(id_); }
  Dom0PortOwner(const Dom0PortOwner&) = delete;
  Dom0PortOwner& operator=(const Dom0PortOwner&) = delete;

  [[nodiscard]] Dom0EventChannels::OwnerId id() const { return id_; }
  /// Ports held now.
  [[nodiscard]] size_t portCount() const { return dom0_.portCount(id_); }
  /// The grant mappings made through this connection, unmapped when it goes.
  Dom0GrantHandles& grants() { return grants_; }

 private:
  Dom0EventChannels& dom0_;
  const Dom0EventChannels::OwnerId id_;
  Dom0GrantHandles grants_;
};

}  // namespace smartvm::hv
