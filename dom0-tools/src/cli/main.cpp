// smartvm: the xl-style command line client of smartvmd.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "smartvm/dom0/cli/CliArgs.h"
#include "smartvm/dom0/cli/CliRunner.h"

int main(int argc, char** argv) {
  const auto args = smartvm::dom0::parseCliArgs(argc, argv, std::getenv("SMARTVM_CONNECT"),
                                                   std::getenv("SMARTVM_XENSTORED_SOCKET"));
  std::cout << args.out << std::flush;
  std::cerr << args.err << std::flush;
  if (!args.command) return args.exitCode;
  const auto& cmd = *args.command;
  auto channel = grpc::CreateChannel(cmd.connect, grpc::InsecureChannelCredentials());
  smartvm::dom0::CliRunner runner(channel, cmd.connect, std::cout, std::cerr,
                                  {.inputFd = STDIN_FILENO, .detachOnSignals = true});
  return runner.run(cmd);
}
