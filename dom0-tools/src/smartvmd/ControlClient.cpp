#include "smartvm/dom0/smartvmd/ControlClient.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

namespace smartvm::dom0 {
namespace {

using control::v1::Request;
using control::v1::Response;

/// The wait the request itself asks smartvm-hv for, before it answers.
std::chrono::milliseconds requestedWait(const Request& r) {
  if (r.has_console_read()) return std::chrono::milliseconds(r.console_read().wait_ms());
  if (r.has_wait()) return std::chrono::milliseconds(r.wait().timeout_ms());
  return std::chrono::milliseconds(0);
}

Status setReceiveTimeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) return errnoStatus("SO_RCVTIMEO");
  return Status::ok();
}

}  // namespace

std::string controlOpName(const Request& request) {
  const auto* field = Request::descriptor()->FindFieldByNumber(static_cast<int>(request.op_case()));
  return field != nullptr ? field->name() : "empty request";
}

Result<MessageSocket> ControlClient::connect(std::chrono::milliseconds answerTimeout) const {
  auto sock = MessageSocket::connectUnix(path_);
  if (!sock.isOk()) {
    const int code = sock.status().code();
    // Permission problems keep their code (smartvmd not root); everything else means "not there".
    const int mapped = (code == EACCES || code == EPERM) ? code : ECONNREFUSED;
    return error(mapped, fmt::format("cannot reach smartvm-hv at {}: {} (is smartvm-hv running?)", path_,
                                     code != 0 ? std::strerror(code) : sock.status().message()));
  }
  SMARTVM_TRY(setReceiveTimeout(sock->fd(), answerTimeout));
  return sock;
}

Result<Response> ControlClient::call(Request request) const {
  request.set_id(nextId_.fetch_add(1, std::memory_order_relaxed));
  const std::string op = controlOpName(request);
  const auto timeout = requestedWait(request) + std::chrono::milliseconds(kAnswerSlack);
  SMARTVM_ASSIGN_OR_RETURN(MessageSocket sock, connect(timeout));
  if (Status s = sock.send(request); !s.isOk()) {
    return error(ENOTCONN,
                 fmt::format("lost the connection to smartvm-hv at {} sending {}: {}", path_, op, s.message()));
  }
  Response response;
  if (Status s = sock.recv(response); !s.isOk()) {
    if (s.code() == EAGAIN || s.code() == EWOULDBLOCK) {
      return error(ETIMEDOUT, fmt::format("smartvm-hv did not answer {} within {} s", op,
                                          std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
    }
    if (s.code() == ENOTCONN || s.code() == ECONNRESET) {
      return error(ENOTCONN, fmt::format("smartvm-hv closed the control connection without answering {}", op));
    }
    return error(s.code(), fmt::format("bad answer from smartvm-hv to {}: {}", op, s.message()));
  }
  if (response.id() != request.id()) {
    return error(EPROTO,
                 fmt::format("smartvm-hv answered {} with id {}, expected {}", op, response.id(), request.id()));
  }
  if (response.error_code() != 0) {
    // Tolerate a negated errno (the hypercall convention) but nothing stranger.
    const int32_t raw = response.error_code();
    const int code = raw > 0 ? raw : (raw > -4096 ? -raw : EPROTO);
    return error(code, response.error().empty() ? fmt::format("smartvm-hv refused {}", op) : response.error());
  }
  return response;
}

}  // namespace smartvm::dom0
