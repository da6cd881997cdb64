#pragma once
// CliRunner against the real smartvmd service and a FakeHv: runs a command
// line as the smartvm binary would and keeps what it printed.
#include <sstream>
#include <string>
#include <vector>

#include "SmartvmdFixture.h"
#include "smartvm/dom0/cli/CliArgs.h"
#include "smartvm/dom0/cli/CliRunner.h"

namespace smartvm::dom0::test {

class CliFixture : public SmartvmdFixture {
 protected:
  /// Runs a parsed command line through CliRunner; returns the exit code.
  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    std::vector<const char*> argv = {"smartvm"};
    for (const auto& a : args) argv.push_back(a.c_str());
    const CliArgs parsed = parseCliArgs(static_cast<int>(argv.size()), argv.data(), target().c_str());
    if (!parsed.command) {
      err_ << parsed.err;
      return parsed.exitCode;
    }
    CliRunner runner(channel_, parsed.command->connect, out_, err_, {});
    return runner.run(*parsed.command);
  }

  std::ostringstream out_;
  std::ostringstream err_;
};

}  // namespace smartvm::dom0::test
