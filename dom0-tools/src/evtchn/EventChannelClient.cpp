#include "smartvm/dom0/evtchn/EventChannelClient.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace smartvm::dom0 {
namespace {

using control::v1::Request;
using control::v1::Response;

}  // namespace

Result<EventChannelClient> EventChannelClient::connect(const std::string& socketPath) {
  SMARTVM_ASSIGN_OR_RETURN(HvConnection conn, HvConnection::connect(socketPath, "event channel client"));
  return EventChannelClient(std::move(conn));
}

Result<EventChannelClient::Port> EventChannelClient::bound(Request request) {
  std::vector<UniqueFd> fds;
  SMARTVM_ASSIGN_OR_RETURN(Response response, conn_.call(std::move(request), &fds));
  if (!response.has_evtchn_bound()) return error(EPROTO, "smartvm-hv answered without the bound port");
  const auto& b = response.evtchn_bound();
  Port port;
  port.port = b.port();
  port.dom = b.dom();
  if (b.has_fds()) {
    if (fds.size() != 2) {
      return error(EPROTO, fmt::format("expected 2 descriptors with port {}, got {}", b.port(), fds.size()));
    }
    port.notify = std::move(fds[0]);
    port.doorbell = std::move(fds[1]);
  }
  return port;
}

Result<EventChannelClient::Port> EventChannelClient::allocUnbound(uint32_t dom, uint32_t remoteDom) {
  Request r;
  r.mutable_evtchn_alloc_unbound()->set_dom(dom);
  r.mutable_evtchn_alloc_unbound()->set_remote_dom(remoteDom);
  return bound(std::move(r));
}

Result<EventChannelClient::Port> EventChannelClient::bindInterdomain(uint32_t remoteDom, uint32_t remotePort) {
  Request r;
  r.mutable_evtchn_bind_interdomain()->set_remote_dom(remoteDom);
  r.mutable_evtchn_bind_interdomain()->set_remote_port(remotePort);
  return bound(std::move(r));
}

Result<EventChannelClient::Port> EventChannelClient::bindVirq(uint32_t virq) {
  Request r;
  r.mutable_evtchn_bind_virq()->set_virq(virq);
  return bound(std::move(r));
}

Status EventChannelClient::send(uint32_t port) {
  Request r;
  r.mutable_evtchn_send()->set_port(port);
  return conn_.call(std::move(r)).status();
}

Status EventChannelClient::close(uint32_t port) {
  Request r;
  r.mutable_evtchn_close()->set_port(port);
  return conn_.call(std::move(r)).status();
}

Result<v1::EventChannel> EventChannelClient::status(uint32_t dom, uint32_t port) {
  Request r;
  r.mutable_evtchn_status()->set_dom(dom);
  r.mutable_evtchn_status()->set_port(port);
  SMARTVM_ASSIGN_OR_RETURN(Response response, conn_.call(std::move(r)));
  if (!response.has_evtchn_status()) return error(EPROTO, "smartvm-hv answered status without a port");
  return std::move(*response.mutable_evtchn_status());
}

Result<std::vector<v1::EventChannel>> EventChannelClient::list(uint32_t dom) {
  Request r;
  r.mutable_evtchn_list()->set_dom(dom);
  SMARTVM_ASSIGN_OR_RETURN(Response response, conn_.call(std::move(r)));
  if (!response.has_evtchn_ports()) return error(EPROTO, "smartvm-hv answered the listing without ports");
  auto& ports = *response.mutable_evtchn_ports()->mutable_ports();
  return std::vector<v1::EventChannel>(std::make_move_iterator(ports.begin()), std::make_move_iterator(ports.end()));
}

Result<uint64_t> EventChannelClient::takePending(int notifyFd) {
  uint64_t count = 0;
  for (;;) {
    if (::read(notifyFd, &count, sizeof(count)) == sizeof(count)) return count;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return uint64_t{0};
    return errnoStatus("read of an event channel eventfd");
  }
}

Result<uint64_t> EventChannelClient::wait(int notifyFd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    SMARTVM_ASSIGN_OR_RETURN(const uint64_t count, takePending(notifyFd));
    if (count != 0) return count;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return error(ETIMEDOUT, fmt::format("no event within {} ms", timeout.count()));
    pollfd p{notifyFd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30))) < 0 && errno != EINTR) {
      return errnoStatus("poll of an event channel eventfd");
    }
  }
}

Status EventChannelClient::ring(int doorbellFd) {
  const uint64_t one = 1;
  for (;;) {
    if (::write(doorbellFd, &one, sizeof(one)) == sizeof(one)) return Status::ok();
    if (errno == EINTR) continue;
    // A full counter still reads as a pending ring: smartvm-hv will see it.
    if (errno == EAGAIN) return Status::ok();
    return errnoStatus("write to an event channel doorbell");
  }
}

}  // namespace smartvm::dom0
