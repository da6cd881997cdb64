#pragma once
// smartvmd's command line.
#include <optional>
#include <string>

namespace smartvm::dom0 {

struct SmartvmdOptions {
  static constexpr const char* kDefaultListen = "unix:/run/smartvm/smartvmd.sock";
  static constexpr const char* kDefaultHvSocket = "/run/smartvm/hv.sock";
  static constexpr const char* kDefaultLogFile = "/var/log/smartvm/smartvmd.log";
  static constexpr const char* kDefaultXenstoredSocket = "/run/smartvm/xenstored.sock";

  std::string listen = kDefaultListen;
  std::string hvSocket = kDefaultHvSocket;
  std::string xenstoredSocket = kDefaultXenstoredSocket;  ///< smartvm-xenstored; "" = write no xenstore nodes
  std::string logFile = kDefaultLogFile;  ///< empty: log to stderr only
  std::string logLevel = "info";
};

/// The outcome of parsing: options to run with, or text to print and an exit code (--help, errors).
struct SmartvmdArgs {
  std::optional<SmartvmdOptions> options;
  int exitCode = 0;
  std::string out;  ///< for stdout (help)
  std::string err;  ///< for stderr (usage errors)
};

/// Parses smartvmd's arguments; never throws.
SmartvmdArgs parseSmartvmdArgs(int argc, const char* const* argv);

}  // namespace smartvm::dom0
