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

EventChannelClient::EventChannelClient(MessageSocket sock)
    : sock_(std::make_unique<MessageSocket>(std::move(sock))), mutex_(std::make_unique<std::mutex>()) {}

Result<EventChannelClient> EventChannelClient::connect(const std::string& socketPath) {
  auto sock = MessageSocket::connectUnix(socketPath);
  if (!sock.isOk()) {
    const int code = sock.status().code();
    return error(code == EACCES || code == EPERM ? code : ECONNREFUSED,
                 fmt::format("cannot reach smartvm-hv at {}: {} (is smartvm-hv running?)", socketPath,
                             sock.status().message()));
  }
  timeval tv{};
  tv.tv_sec = kAnswerTimeout.count();
  if (::setsockopt(sock->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) return errnoStatus("SO_RCVTIMEO");
  return EventChannelClient(std::move(*sock));
}

void EventChannelClient::disconnect() {
  if (!mutex_) return;
  std::lock_guard lk(*mutex_);
  sock_->close();
}

Result<Response> EventChannelClient::call(Request request, std::vector<UniqueFd>* fds) {
  if (!mutex_) return error(ENOTCONN, "event channel client was moved from");
  std::lock_guard lk(*mutex_);
  if (!sock_->valid()) return error(ENOTCONN, "event channel client is disconnected");
  request.set_id(nextId_++);
  if (Status s = sock_->send(request); !s) {
    return error(ENOTCONN, "lost the connection to smartvm-hv: " + s.message());
  }
  Response response;
  std::vector<UniqueFd> received;
  if (Status s = sock_->recv(response, received); !s) {
    // A lost answer leaves the connection out of step: give it up.
    sock_->close();
    if (s.code() == EAGAIN || s.code() == EWOULDBLOCK) {
      return error(ETIMEDOUT, fmt::format("smartvm-hv did not answer within {} s", kAnswerTimeout.count()));
    }
    return error(s.code() == ECONNRESET ? ENOTCONN : s.code(), "no answer from smartvm-hv: " + s.message());
  }
  if (response.id() != request.id()) {
    sock_->close();
    return error(EPROTO, fmt::format("smartvm-hv answered id {}, expected {}", response.id(), request.id()));
  }
  if (received.size() != response.fd_count()) {
    return error(EPROTO, fmt::format("smartvm-hv announced {} descriptors and sent {}", response.fd_count(),
                                     received.size()));
  }
  if (response.error_code() != 0) {
    const int32_t raw = response.error_code();
    const std::string& why = response.error();
    return error(raw > 0 ? raw : EPROTO, why.empty() ? "smartvm-hv refused the request" : why);
  }
  if (fds != nullptr) *fds = std::move(received);
  return response;
}

Result<EventChannelClient::Port> EventChannelClient::bound(Request request) {
  std::vector<UniqueFd> fds;
  SMARTVM_ASSIGN_OR_RETURN(Response response, call(std::move(request), &fds));
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
  return call(std::move(r)).status();
}

Status EventChannelClient::close(uint32_t port) {
  Request r;
  r.mutable_evtchn_close()->set_port(port);
  return call(std::move(r)).status();
}

Result<v1::EventChannel> EventChannelClient::status(uint32_t dom, uint32_t port) {
  Request r;
  r.mutable_evtchn_status()->set_dom(dom);
  r.mutable_evtchn_status()->set_port(port);
  SMARTVM_ASSIGN_OR_RETURN(Response response, call(std::move(r)));
  if (!response.has_evtchn_status()) return error(EPROTO, "smartvm-hv answered status without a port");
  return std::move(*response.mutable_evtchn_status());
}

Result<std::vector<v1::EventChannel>> EventChannelClient::list(uint32_t dom) {
  Request r;
  r.mutable_evtchn_list()->set_dom(dom);
  SMARTVM_ASSIGN_OR_RETURN(Response response, call(std::move(r)));
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
