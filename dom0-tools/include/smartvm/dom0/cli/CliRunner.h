#pragma once
// Runs one parsed `smartvm` command against smartvmd and prints like xl.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>

#include "smartvm/dom0/cli/CliArgs.h"
#include "smartvm/dom0/cli/ConsoleAttach.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {

class CliRunner {
 public:
  /// Deadline of a plain call; create builds the domain and gets longer.
  static constexpr std::chrono::seconds kCallDeadline{60};
  static constexpr std::chrono::seconds kCreateDeadline{300};

  /// Talks to smartvmd over `channel`, named `target` in messages; results go to
  /// `out`, messages ("Parsing config from", warnings, errors) to `err`.
  CliRunner(std::shared_ptr<grpc::Channel> channel, std::string target, std::ostream& out, std::ostream& err,
            ConsoleAttach::Options console);

  /// Runs `cmd`; returns the exit code: 0 on success, 1 after printing "smartvm: <problem>".
  int run(const CliCommand& cmd);

 private:
  int create(const CliCommand& cmd);
  int list(const CliCommand& cmd);
  int console(const std::string& domain);
  int domainOp(const CliCommand& cmd);
  int shutdown(const CliCommand& cmd);
  int info();
  int dmesg(const CliCommand& cmd);
  int evtchnList(const std::string& domain);
  int debugKeys(const std::string& keys);
  // The scheduler commands (CliRunnerSched.cpp).
  int sched(const CliCommand& cmd);
  int schedGlobal(const CliCommand& cmd);
  int schedDomains(const CliCommand& cmd);
  int vcpuPin(const CliCommand& cmd);
  int vcpuList(const CliCommand& cmd);
  /// GetSchedParams of `domain` ("" = global) into `out`.
  grpc::Status getSchedParams(const std::string& domain, v1::SchedParams& out);
  /// SetSchedParams of `domain` ("" = global); silent on success, as xl.
  int setSchedParams(const std::string& domain, const std::map<std::string, int64_t>& params);
  // PV disks (CliRunnerDisks.cpp).
  int blockAttach(const CliCommand& cmd);
  int blockDetach(const CliCommand& cmd);
  int blockList(const CliCommand& cmd);

  /// Prints the one-line error for a failed call and returns 1.
  int fail(const grpc::Status& status);
  int fail(const std::string& message);
  void setDeadline(grpc::ClientContext& ctx, std::chrono::seconds deadline) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
  std::string target_;
  std::ostream& out_;
  std::ostream& err_;
  ConsoleAttach::Options console_;
};

}  // namespace smartvm::dom0
