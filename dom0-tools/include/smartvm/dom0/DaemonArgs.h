#pragma once
// What the dom0 daemons (smartvmd, smartvm-xenstored, smartvm-blkback) parse
// alike: --log-file and --log-level, and a parse that hands --help and errors
// back as text and an exit code instead of exiting, so tests can run it.
#include <CLI/CLI.hpp>

#include <sstream>
#include <string>

namespace smartvm::dom0 {

inline void addLogOptions(CLI::App& app, std::string& logFile, std::string& logLevel) {
  app.add_option("--log-file", logFile, "log file (its directory is created); empty for stderr only")
      ->capture_default_str();
  app.add_option("--log-level", logLevel, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

/// Parses into the options `app` was built over. Returns true when the
/// daemon should run; false after --help or an error, with CLI11's text in
/// `args.out`/`args.err` and its exit code in `args.exitCode`. `Args` has
/// those three members.
template <class Args>
bool parseDaemonArgs(CLI::App& app, int argc, const char* const* argv, Args& args) {
  try {
    app.parse(argc, argv);
    return true;
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    args.exitCode = app.exit(e, out, err);
    args.out = out.str();
    args.err = err.str();
    return false;
  }
}

}  // namespace smartvm::dom0
