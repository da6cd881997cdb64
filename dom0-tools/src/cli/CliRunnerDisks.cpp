// CliRunner's PV disk commands: block-attach, block-detach, block-list (as xl's).
#include <filesystem>

#include "smartvm/dom0/cli/CliRunner.h"
#include "smartvm/dom0/cli/DiskListFormat.h"
#include "smartvm/dom0/config/XlDiskSpec.h"

namespace smartvm::dom0 {
namespace {

/// xl joins block-attach's words into one disk spec; so do we.
std::string joinSpec(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ",") + w;
  return out;
}

}  // namespace

int CliRunner::blockAttach(const CliCommand& cmd) {
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) return fail("cannot tell the current directory (for a relative target): " + ec.message());
  // Parsed here, as create parses its config: syntax errors name the spec without a round trip.
  auto disk = XlDiskSpec::parse(joinSpec(cmd.diskSpec), cwd);
  if (!disk.isOk()) return fail(disk.status().message());
  v1::AttachDiskRequest request;
  request.mutable_domain()->set_id(cmd.domain);
  *request.mutable_disk() = std::move(disk).value();
  v1::DiskInfo info;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  if (grpc::Status s = stub_->AttachDisk(&ctx, request, &info); !s.ok()) return fail(s);
  return 0;
}

int CliRunner::blockDetach(const CliCommand& cmd) {
  v1::DetachDiskRequest request;
  request.mutable_domain()->set_id(cmd.domain);
  request.set_vdev(cmd.vdev);
  v1::DetachDiskResponse response;
  grpc::ClientContext ctx;
  setDeadline(ctx, kCallDeadline);
  if (grpc::Status s = stub_->DetachDisk(&ctx, request, &response); !s.ok()) return fail(s);
  return 0;
}

int CliRunner::blockList(const CliCommand& cmd) {
  std::vector<v1::ListDisksResponse> domains;
  int exitCode = 0;
  for (const std::string& name : cmd.domains) {
    v1::DomainRef ref;
    ref.set_id(name);
    v1::ListDisksResponse response;
    grpc::ClientContext ctx;
    setDeadline(ctx, kCallDeadline);
    // As xl: a domain that cannot be listed is reported, the others still are.
    if (grpc::Status s = stub_->ListDisks(&ctx, ref, &response); !s.ok()) {
      exitCode = fail(s);
      continue;
    }
    domains.push_back(std::move(response));
  }
  if (!domains.empty() || exitCode == 0) out_ << formatDiskTable(domains);
  return exitCode;
}

}  // namespace smartvm::dom0
