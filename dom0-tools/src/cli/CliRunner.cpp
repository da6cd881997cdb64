#include "smartvm/dom0/cli/CliRunner.h"

#include <fmt/format.h>

#include "smartvm/dom0/cli/DomainListFormat.h"
#include "smartvm/dom0/cli/EventChannelFormat.h"
#include "smartvm/dom0/cli/HostInfoFormat.h"
#include "smartvm/dom0/cli/RpcErrorFormat.h"
#include "smartvm/dom0/cli/XenstoreCommands.h"
#include "smartvm/dom0/config/XlConfig.h"

namespace smartvm::dom0 {

CliRunner::CliRunner(std::shared_ptr<grpc::Channel> channel, std::string target, std::ostream& out, std::ostream& err,
                     ConsoleAttach::Options console)
    : channel_(std::move(channel)),
      stub_(v1::Toolstack::NewStub(channel_)),
      target_(std::move(target)),
      out_(out),
      err_(err),
      console_(console) {}

int CliRunner::run(const CliCommand& cmd) {
  switch (cmd.verb) {
    case CliVerb::Create: return create(cmd);
    case CliVerb::List: return list(cmd);
    case CliVerb::Console: return console(cmd.domain);
    case CliVerb::Pause:
    case CliVerb::Unpause:
    case CliVerb::Destroy: return domainOp(cmd);
    case CliVerb::Shutdown:
    case CliVerb::Reboot: return shutdown(cmd);
    case CliVerb::Info: return info();
    case CliVerb::Dmesg: return dmesg(cmd);
    case CliVerb::EvtchnList: return evtchnList(cmd.domain);
    case CliVerb::DebugKeys: return debugKeys(cmd.keys);
    case CliVerb::SchedCredit:
    case CliVerb::SchedParallel: return sched(cmd);
    case CliVerb::VcpuPin: return vcpuPin(cmd);
    case CliVerb::VcpuList: return vcpuList(cmd);
    case CliVerb::XenstoreLs:
    case CliVerb::XenstoreRead:
    case CliVerb::XenstoreWrite:
    case CliVerb::XenstoreRm:
    case CliVerb::XenstoreList:
    case CliVerb::XenstoreWatch: return XenstoreCommands(out_, err_).run(cmd);
    case CliVerb::BlockAttach: return blockAttach(cmd);
    case CliVerb::BlockDetach: return blockDetach(cmd);
    case CliVerb::BlockList: return blockList(cmd);
  }
  return fail("unknown command");
}

int CliRunner::fail(const grpc::Status& status) {
  const bool ready = channel_->GetState(false) == GRPC_CHANNEL_READY;
  return fail(describeRpcError(status, target_, ready));
}

int CliRunner::fail(const std::string& message) {
  err_ << "smartvm: " << message << '\n';
  return 1;
}

void CliRunner::setDeadline(grpc::ClientContext& ctx, std::chrono::seconds deadline) const {
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
}

int CliRunner::create(const CliCommand& cmd) {
  // As xl does, before anything can fail.
  err_ << "Parsing config from " << cmd.configFile << '\n';
  auto parsed = XlConfig::parseFile(cmd.configFile, cmd.overrides);
  if (!parsed.isOk()) return fail(parsed.status().message());
  for (const std::string& w : parsed->warnings) err_ << "smartvm: warning: " << w << '\n';
  v1::CreateDomainRequest request;
  *request.mutable_config() = parsed->config;
  request.mutable_config()->set_start_paused(cmd.startPaused);
  v1::DomainInfo info;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCreateDeadline);
  if (grpc::Status s = stub_->CreateDomain(&ctx, request, &info); !s.ok()) return fail(s);
  out_ << fmt::format("Created domain {} (id {})\n", info.name(), info.domid()) << std::flush;
  return cmd.attachConsole ? console(std::to_string(info.domid())) : 0;
}

int CliRunner::list(const CliCommand& cmd) {
  std::vector<v1::DomainInfo> domains;
  if (cmd.domains.empty()) {
    v1::ListDomainsResponse response;
    grpc::ClientContext ctx;
    setDeadline(ctx, kCallDeadline);
    if (grpc::Status s = stub_->ListDomains(&ctx, v1::ListDomainsRequest(), &response); !s.ok()) return fail(s);
    domains.assign(response.domains().begin(), response.domains().end());
  }
  for (const std::string& name : cmd.domains) {
    v1::DomainRef ref;
    ref.set_id(name);
    grpc::ClientContext ctx;
    setDeadline(ctx, kCallDeadline);
    if (grpc::Status s = stub_->GetDomain(&ctx, ref, &domains.emplace_back()); !s.ok()) return fail(s);
  }
  out_ << (cmd.longFormat ? formatDomainJson(domains) : formatDomainTable(domains));
  return 0;
}

int CliRunner::console(const std::string& domain) {
  grpc::Status status;
  const ConsoleAttach::End end = ConsoleAttach(*stub_, out_, console_).run(domain, status);
  return end == ConsoleAttach::End::Failed ? fail(status) : 0;
}

int CliRunner::domainOp(const CliCommand& cmd) {
  v1::DomainRef ref;
  ref.set_id(cmd.domain);
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  v1::DomainInfo info;
  v1::DestroyResponse destroyed;
  grpc::Status s;
  if (cmd.verb == CliVerb::Pause) s = stub_->PauseDomain(&ctx, ref, &info);
  if (cmd.verb == CliVerb::Unpause) s = stub_->UnpauseDomain(&ctx, ref, &info);
  if (cmd.verb == CliVerb::Destroy) s = stub_->DestroyDomain(&ctx, ref, &destroyed);
  return s.ok() ? 0 : fail(s);
}

int CliRunner::shutdown(const CliCommand& cmd) {
  const bool reboot = cmd.verb == CliVerb::Reboot;
  v1::ShutdownRequest request;
  request.mutable_domain()->set_id(cmd.domain);
  request.set_wait(cmd.wait);
  request.set_force(cmd.force);
  request.set_reboot(reboot);
  grpc::ClientContext ctx;
  // The server gives up waiting after its default 60 s; leave it room to say so itself.
  setDeadline(ctx, kCallDeadline + std::chrono::seconds(30));
  v1::DomainInfo info;
  if (grpc::Status s = stub_->ShutdownDomain(&ctx, request, &info); !s.ok()) return fail(s);
  if (!cmd.wait) {
    out_ << fmt::format("{} domain {} (id {})\n", reboot ? "Rebooting" : "Shutting down", info.name(), info.domid());
  } else {
    out_ << fmt::format("Domain {} (id {}) has {}\n", info.name(), info.domid(),
                        reboot ? "rebooted" : "been shut down");
  }
  return 0;
}

int CliRunner::info() {
  v1::HostInfo host;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  if (grpc::Status s = stub_->GetHostInfo(&ctx, v1::HostInfoRequest(), &host); !s.ok()) return fail(s);
  out_ << formatHostInfo(host);
  return 0;
}

int CliRunner::dmesg(const CliCommand& cmd) {
  v1::HypervisorLogRequest request;
  request.set_clear(cmd.clear);
  v1::HypervisorLog log;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  if (grpc::Status s = stub_->ReadHypervisorLog(&ctx, request, &log); !s.ok()) return fail(s);
  out_ << log.text();
  if (!log.text().empty() && log.text().back() != '\n') out_ << '\n';
  return 0;
}

int CliRunner::evtchnList(const std::string& domain) {
  v1::DomainRef ref;
  ref.set_id(domain);
  v1::ListEventChannelsResponse response;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  if (grpc::Status s = stub_->ListEventChannels(&ctx, ref, &response); !s.ok()) return fail(s);
  out_ << formatEventChannels({response.ports().begin(), response.ports().end()});
  return 0;
}

int CliRunner::debugKeys(const std::string& keys) {
  v1::DebugKeysRequest request;
  request.set_keys(keys);
  v1::DebugKeysResponse response;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  // Silent on success, as xl debug-keys: what the keys did is in `smartvm dmesg`.
  if (grpc::Status s = stub_->SendDebugKeys(&ctx, request, &response); !s.ok()) return fail(s);
  return 0;
}

}  // namespace smartvm::dom0
