#pragma once
// smartvm-xenstored's command line.
#include <optional>
#include <string>

namespace smartvm::dom0::xenstore {

struct XenstoredOptions {
  static constexpr const char* kDefaultSocket = "/run/smartvm/xenstored.sock";
  static constexpr const char* kDefaultLogFile = "/var/log/smartvm/xenstored.log";
  static constexpr const char* kDefaultHvSocket = "/run/smartvm/hv.sock";

  std::string socket = kDefaultSocket;
  std::string hvSocket = kDefaultHvSocket;  ///< smartvm-hv's control socket: guest rings, ports, domain deaths
  std::string logFile = kDefaultLogFile;  ///< empty: log to stderr only
  std::string logLevel = "info";
};

/// The outcome of parsing: options to run with, or text to print and an exit code (--help, errors).
struct XenstoredArgs {
  std::optional<XenstoredOptions> options;
  int exitCode = 0;
  std::string out;
  std::string err;
};

/// Parses smartvm-xenstored's arguments; never throws.
XenstoredArgs parseXenstoredArgs(int argc, const char* const* argv);

}  // namespace smartvm::dom0::xenstore
