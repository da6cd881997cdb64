#pragma once
// The `smartvm` command line (xl's subcommands), parsed into a CliCommand.
#include <optional>
#include <string>
#include <vector>

namespace smartvm::dom0 {

enum class CliVerb {
  Create, List, Console, Pause, Unpause, Destroy, Shutdown, Reboot, Info, Dmesg, EvtchnList, DebugKeys
};

/// One parsed invocation; fields not used by the verb keep their defaults.
struct CliCommand {
  static constexpr const char* kDefaultConnect = "unix:/run/smartvm/smartvmd.sock";

  std::string connect = kDefaultConnect;  ///< smartvmd's address (gRPC target)
  CliVerb verb = CliVerb::List;
  std::string configFile;              ///< create
  std::vector<std::string> overrides;  ///< create: key=value after the file
  bool attachConsole = false;          ///< create -c
  bool startPaused = false;            ///< create -p
  bool longFormat = false;             ///< list -l
  std::vector<std::string> domains;    ///< list [DOM...]
  std::string domain;                  ///< console, pause, unpause, destroy, shutdown, reboot, evtchn-list
  std::string keys;                    ///< debug-keys
  bool wait = false;                   ///< shutdown/reboot -w
  bool force = false;                  ///< shutdown/reboot -F
  bool clear = false;                  ///< dmesg -c
};

/// The outcome of parsing: a command to run, or text to print and an exit code
/// (0 for --help, 1 for a usage error with a one-line message on `err`).
struct CliArgs {
  std::optional<CliCommand> command;
  int exitCode = 0;
  std::string out;
  std::string err;
};

/// Parses `smartvm [--connect ADDR] COMMAND ...`. `envConnect` is $SMARTVM_CONNECT
/// (nullptr when unset): it replaces the default, and --connect replaces it. Never throws.
CliArgs parseCliArgs(int argc, const char* const* argv, const char* envConnect);

}  // namespace smartvm::dom0
