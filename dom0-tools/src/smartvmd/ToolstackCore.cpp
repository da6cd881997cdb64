#include "smartvm/dom0/smartvmd/ToolstackCore.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace smartvm::dom0 {
namespace {

using control::v1::Request;
using control::v1::Response;

bool allDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status missingResult(const char* op, const char* what) {
  return error(EPROTO, fmt::format("smartvm-hv answered {} without {}", op, what));
}

}  // namespace

Status domainNotFound(const std::string& ref) { return error(ESRCH, fmt::format("domain '{}' not found", ref)); }

bool isNoSuchDomain(const Status& status) { return status.code() == ESRCH || status.code() == ENOENT; }

Result<Response> ToolstackCore::callOnDomain(Request request, const std::string& ref) const {
  auto response = hv_.call(std::move(request));
  if (!response.isOk() && isNoSuchDomain(response.status())) return domainNotFound(ref);
  return response;
}

Result<v1::DomainInfo> ToolstackCore::create(const v1::DomainConfig& config) const {
  Request request;
  *request.mutable_create()->mutable_config() = config;
  // As libxl: the domain is created paused, its xenstore nodes, disks and
  // console log are set up, then it runs. A guest that probes xenstore at
  // its first instruction finds its devices. hold_paused, unlike the config's
  // start_paused, does not make a restart paused too.
  const bool hold = !config.start_paused();
  request.mutable_create()->set_hold_paused(hold);
  SMARTVM_ASSIGN_OR_RETURN(Response response, hv_.call(std::move(request)));
  if (!response.has_domain()) return missingResult("create", "the new domain");
  for (DomainHooks* h : hooks_) h->onCreated(response.domain());
  if (!hold) return std::move(*response.mutable_domain());
  const uint32_t domid = response.domain().domid();
  auto running = unpause(std::to_string(domid));
  if (!running.isOk()) {
    return error(running.status().code(),
                 fmt::format("domain {} '{}' was created but could not be started: {}", domid,
                             response.domain().name(), running.status().message()));
  }
  return running;
}

Result<std::vector<v1::DomainInfo>> ToolstackCore::list() const {
  Request request;
  request.mutable_list();
  SMARTVM_ASSIGN_OR_RETURN(Response response, hv_.call(std::move(request)));
  if (!response.has_domains()) return missingResult("list", "a domain list");
  auto& domains = *response.mutable_domains()->mutable_domains();
  for (v1::DomainInfo& d : domains) withCurrentDisks(d);
  return std::vector<v1::DomainInfo>(std::make_move_iterator(domains.begin()), std::make_move_iterator(domains.end()));
}

Result<uint32_t> ToolstackCore::resolve(const std::string& ref) const {
  if (ref.empty()) return error(EINVAL, "no domain given (an empty name or domid)");
  if (allDigits(ref)) {
    uint32_t domid = 0;
    const auto [end, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), domid);
    if (ec != std::errc() || end != ref.data() + ref.size()) {
      return error(EINVAL, fmt::format("'{}' is not a valid domid", ref));
    }
    return domid;
  }
  SMARTVM_ASSIGN_OR_RETURN(const std::vector<v1::DomainInfo> domains, list());
  for (const v1::DomainInfo& d : domains) {
    if (d.name() == ref) return d.domid();
  }
  return domainNotFound(ref);
}

Result<v1::DomainInfo> ToolstackCore::getById(uint32_t domid, const std::string& ref) const {
  Request request;
  request.mutable_get()->set_domid(domid);
  SMARTVM_ASSIGN_OR_RETURN(Response response, callOnDomain(std::move(request), ref));
  if (!response.has_domain()) return missingResult("get", "the domain");
  withCurrentDisks(*response.mutable_domain());
  return std::move(*response.mutable_domain());
}

Result<v1::DomainInfo> ToolstackCore::get(const std::string& ref) const {
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  return getById(domid, ref);
}

Result<v1::DomainInfo> ToolstackCore::domainOp(const std::string& ref,
                                               const std::function<void(Request&, uint32_t)>& fill) const {
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  Request request;
  fill(request, domid);
  SMARTVM_ASSIGN_OR_RETURN(Response response, callOnDomain(std::move(request), ref));
  // The control protocol lets smartvm-hv leave the info out of an operation's answer.
  if (response.has_domain()) return std::move(*response.mutable_domain());
  return getById(domid, ref);
}

Result<v1::DomainInfo> ToolstackCore::pause(const std::string& ref) const {
  return domainOp(ref, [](Request& r, uint32_t domid) { r.mutable_pause()->set_domid(domid); });
}

Result<v1::DomainInfo> ToolstackCore::unpause(const std::string& ref) const {
  return domainOp(ref, [](Request& r, uint32_t domid) { r.mutable_unpause()->set_domid(domid); });
}

Result<uint32_t> ToolstackCore::destroy(const std::string& ref) const {
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  Request request;
  request.mutable_destroy()->set_domid(domid);
  SMARTVM_TRY(callOnDomain(std::move(request), ref).status());
  for (DomainHooks* h : hooks_) h->onDestroyed(domid);
  return domid;
}

Status ToolstackCore::readConsole(const v1::ReadConsoleRequest& request, const ChunkSink& sink,
                                  const CancelledFn& cancelled) const {
  const std::string& ref = request.domain().id();
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  return ConsoleFollower(hv_, domid, ref).run(request.offset(), request.follow(), sink, cancelled);
}

Result<v1::HostInfo> ToolstackCore::hostInfo() const {
  Request request;
  request.mutable_host_info();
  SMARTVM_ASSIGN_OR_RETURN(Response response, hv_.call(std::move(request)));
  if (!response.has_host()) return missingResult("host_info", "host information");
  return std::move(*response.mutable_host());
}

Result<v1::ListEventChannelsResponse> ToolstackCore::listEventChannels(const std::string& ref) const {
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t domid, resolve(ref));
  Request request;
  request.mutable_evtchn_list()->set_dom(domid);
  SMARTVM_ASSIGN_OR_RETURN(Response response, callOnDomain(std::move(request), ref));
  if (!response.has_evtchn_ports()) return missingResult("evtchn_list", "a port list");
  v1::ListEventChannelsResponse out;
  out.set_domid(domid);
  *out.mutable_ports() = std::move(*response.mutable_evtchn_ports()->mutable_ports());
  return out;
}

Result<std::string> ToolstackCore::debugKeys(const std::string& keys) const {
  if (keys.empty()) return error(EINVAL, "no debug keys given");
  Request request;
  request.mutable_debug_keys()->set_keys(keys);
  SMARTVM_ASSIGN_OR_RETURN(Response response, hv_.call(std::move(request)));
  return std::move(*response.mutable_text());
}

Result<std::string> ToolstackCore::hypervisorLog(bool clear) const {
  Request request;
  request.mutable_hv_log()->set_clear(clear);
  SMARTVM_ASSIGN_OR_RETURN(Response response, hv_.call(std::move(request)));
  return std::move(*response.mutable_text());
}

}  // namespace smartvm::dom0
