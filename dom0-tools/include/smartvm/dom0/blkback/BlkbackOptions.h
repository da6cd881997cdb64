#pragma once
// smartvm-blkback's command line.
#include <optional>
#include <string>

#include "smartvm/dom0/blkback/BlkbackDaemon.h"

namespace smartvm::dom0::blkback {

struct BlkbackOptions {
  static constexpr const char* kDefaultLogFile = "/var/log/smartvm/blkback.log";
  BlkbackDaemon::Options daemon;
  std::string logFile = kDefaultLogFile;  ///< empty: log to stderr only
  std::string logLevel = "info";
};

/// Options to run with, or text to print and an exit code (--help, errors).
struct BlkbackArgs {
  std::optional<BlkbackOptions> options;
  int exitCode = 0;
  std::string out;
  std::string err;
};

/// Parses smartvm-blkback's arguments; never throws.
BlkbackArgs parseBlkbackArgs(int argc, const char* const* argv);

}  // namespace smartvm::dom0::blkback
