#pragma once
// XsGuestAccess over smartvm-hv's control socket: GrantClient maps ring pages,
// EventChannelClient binds ports, ControlClient's `list` says who is alive.
// Connects lazily and again after smartvm-hv restarted, so xenstored can start
// before smartvm-hv; until it is reachable every INTRODUCE fails (logged).
#include <optional>
#include <string>

#include "smartvm/dom0/evtchn/EventChannelClient.h"
#include "smartvm/dom0/grant/GrantClient.h"
#include "smartvm/dom0/smartvmd/ControlClient.h"
#include "smartvm/dom0/xenstore/XsGuestAccess.h"

namespace smartvm::dom0::xenstore {

class XsHvGuestAccess final : public XsGuestAccess {
 public:
  explicit XsHvGuestAccess(std::string hvSocket) : path_(hvSocket), control_(std::move(hvSocket)) {}

  Result<XsRingPage> mapRing(uint32_t domid) override;
  void unmapRing(uint32_t domid, const XsRingPage& ring) override;
  Result<XsEventPort> bindInterdomain(uint32_t domid, uint32_t remotePort) override;
  void closePort(uint32_t port) override;
  Result<XsEventPort> bindDomExc() override;
  Result<std::map<uint32_t, XsDomainState>> domainStates() override;
  int hypervisorFd() const override;
  bool hypervisorHungUp() const override;
  void hypervisorGone() override;
  void forgetRing(const XsRingPage& ring) override;

 private:
  /// (Re)connects the grant and event channel clients when they are not connected.
  Status connect();
  /// Forgets the connections after an error that says smartvm-hv went away.
  void dropIfGone(const Status& s);
  static XsEventPort portOf(EventChannelClient::Port p);

  std::string path_;
  ControlClient control_;
  std::optional<GrantClient> grants_;
  std::optional<EventChannelClient> evtchn_;
};

}  // namespace smartvm::dom0::xenstore
