#pragma once
// A dom0 process's event channel endpoint, the Smart-VM stand-in for an open
// /dev/xen/evtchn (libxenevtchn): a persistent connection to smartvm-hv's
// control socket over which it allocates and binds domain 0 ports, and gets
// an eventfd to poll and a doorbell eventfd to notify for each.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "smartvm/MessageSocket.h"
#include "smartvm/Result.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/control/v1/control.pb.h"
#include "smartvm/dom0/HvConnection.h"

namespace smartvm::dom0 {

/// Ports bound through a client belong to its connection: smartvm-hv closes
/// them when the client is destroyed, disconnects or its process dies (as
/// closing /dev/xen/evtchn does). Thread-safe: calls take turns on the
/// connection. Errors carry smartvm-hv's errno (Xen's: ESRCH, EINVAL, ENOSPC,
/// EEXIST; ENOTCONN for a port this client did not bind) and its message.
class EventChannelClient {
 public:
  static constexpr const char* kDefaultSocket = "/run/smartvm/hv.sock";
  /// How long smartvm-hv may take to answer a request.
  static constexpr std::chrono::seconds kAnswerTimeout = HvConnection::kAnswerTimeout;

  /// A port handed out. For a domain 0 port, `notify` and `doorbell` are
  /// valid (see control.proto): poll/read `notify` to learn of events (wait()),
  /// write `doorbell` to notify the peer without a request (ring()). A port
  /// allocated in a guest on its behalf (allocUnbound with dom != 0) has
  /// neither and is not this client's to send on or close.
  struct Port {
    uint32_t port = 0;
    uint32_t dom = 0;  ///< the domain the port is in
    UniqueFd notify;
    UniqueFd doorbell;
  };

  /// Connects to smartvm-hv's control socket.
  [[nodiscard]] static Result<EventChannelClient> connect(const std::string& socketPath = kDefaultSocket);

  EventChannelClient(EventChannelClient&&) noexcept = default;
  EventChannelClient& operator=(EventChannelClient&&) noexcept = default;

  /// EVTCHNOP_alloc_unbound(dom, remote_dom) as dom0. dom 0: a dom0 port that
  /// `remoteDom` may bind, with fds. Another dom: a port in that guest that
  /// `remoteDom` may bind (xl's console/xenstore set-up), without fds.
  [[nodiscard]] Result<Port> allocUnbound(uint32_t dom, uint32_t remoteDom);
  /// EVTCHNOP_bind_interdomain: a dom0 port connected to `remoteDom`'s unbound
  /// port offered to dom0. As in Xen, the new port starts pending (its eventfd
  /// reads 1): a notification sent before the binding may have been dropped.
  [[nodiscard]] Result<Port> bindInterdomain(uint32_t remoteDom, uint32_t remotePort);
  /// EVTCHNOP_bind_virq as dom0 (e.g. VIRQ_DOM_EXC). EEXIST if bound already.
  [[nodiscard]] Result<Port> bindVirq(uint32_t virq);
  /// EVTCHNOP_send on a port this client bound (a request round trip; ring()
  /// the doorbell to skip it).
  [[nodiscard]] Status send(uint32_t port);
  /// EVTCHNOP_close on a port this client bound.
  [[nodiscard]] Status close(uint32_t port);
  /// EVTCHNOP_status of any domain's port, with pending and masked.
  [[nodiscard]] Result<v1::EventChannel> status(uint32_t dom, uint32_t port);
  /// Every port of `dom` that is not closed, in port order.
  [[nodiscard]] Result<std::vector<v1::EventChannel>> list(uint32_t dom);
  /// Closes the connection; smartvm-hv closes this client's ports.
  void disconnect() { conn_.disconnect(); }
  [[nodiscard]] bool connected() const { return conn_.connected(); }
  /// The connection's socket, to poll for smartvm-hv going away: it never
  /// sends unsolicited data, so the socket turns readable only at EOF (-1
  /// when not connected). Requests must not be made while polling it.
  [[nodiscard]] int socketFd() const { return conn_.fd(); }

  /// Waits until `notifyFd` has an event or `timeout` passes, then takes it:
  /// returns how many notifications came since the last take. ETIMEDOUT.
  [[nodiscard]] static Result<uint64_t> wait(int notifyFd, std::chrono::milliseconds timeout);
  /// Takes what is pending on `notifyFd` without waiting (0 when nothing is).
  [[nodiscard]] static Result<uint64_t> takePending(int notifyFd);
  /// Notifies a port's peer through its doorbell, without a round trip.
  [[nodiscard]] static Status ring(int doorbellFd);

 private:
  explicit EventChannelClient(HvConnection conn) : conn_(std::move(conn)) {}
  Result<Port> bound(control::v1::Request request);

  HvConnection conn_;
};

}  // namespace smartvm::dom0
