#pragma once
// Logging setup shared by the daemons: one logger writing to stderr and to a file.
#include <spdlog/spdlog.h>

#include <string>

#include "smartvm/Status.h"

namespace smartvm {

struct LogOptions {
  std::string name;          ///< logger name shown in every line
  std::string file;          ///< log file path; empty = stderr only
  std::string level = "info";
};

/// Installs the default logger, creating the log file's directory. Fails,
/// naming the path, if either cannot be made or the level is unknown.
Status initLogging(const LogOptions& opts);

}  // namespace smartvm
