#pragma once
// smartvmd's command line.
#include <cstdint>
#include <optional>
#include <string>

namespace smartvm::dom0 {

struct SmartvmdOptions {
  static constexpr const char* kDefaultListen = "unix:/run/smartvm/smartvmd.sock";
  static constexpr const char* kDefaultHvSocket = "/run/smartvm/hv.sock";
  static constexpr const char* kDefaultLogFile = "/var/log/smartvm/smartvmd.log";
  static constexpr const char* kDefaultXenstoredSocket = "/run/smartvm/xenstored.sock";
  static constexpr const char* kDefaultConsoleLogDir = "/var/log/smartvm/console";
  static constexpr uint64_t kDefaultConsoleLogSize = uint64_t{1} << 20;
  static constexpr unsigned kDefaultConsoleLogKeep = 5;
  /// Bounds of --console-log-size: below 1 KiB a log would rotate at every line.
  static constexpr uint64_t kMinConsoleLogSize = uint64_t{1} << 10;
  static constexpr uint64_t kMaxConsoleLogSize = uint64_t{1} << 30;
  static constexpr unsigned kMaxConsoleLogKeep = 100;

  std::string listen = kDefaultListen;
  std::string hvSocket = kDefaultHvSocket;
  std::string xenstoredSocket = kDefaultXenstoredSocket;  ///< smartvm-xenstored; "" = write no xenstore nodes
  std::string logFile = kDefaultLogFile;  ///< empty: log to stderr only
  std::string logLevel = "info";
  /// Every guest's console goes to <dir>/guest-<name>.log (xenconsoled --log=guest); "" = none.
  std::string consoleLogDir = kDefaultConsoleLogDir;
  uint64_t consoleLogSize = kDefaultConsoleLogSize;  ///< rotate a guest's log past this many bytes
  unsigned consoleLogKeep = kDefaultConsoleLogKeep;  ///< rotated files kept per guest (0: truncate)
};

/// A size with an optional K, M or G suffix (powers of 1024: "512K", "1M"), within
/// SmartvmdOptions' console log bounds; "" when good, else why not.
std::string parseConsoleLogSize(const std::string& text, uint64_t& bytes);

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
