#include "smartvm/dom0/smartvmd/SmartvmdOptions.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <sstream>

#include "smartvm/dom0/DaemonArgs.h"

namespace smartvm::dom0 {
namespace {

/// 1, 2 or 3 for a K, M or G size suffix (either case); 0 for anything else.
unsigned suffixPower(char c) {
  switch (c) {
    case 'k':
    case 'K': return 1;
    case 'm':
    case 'M': return 2;
    case 'g':
    case 'G': return 3;
    default: return 0;
  }
}

/// --console-log-keep's value: "" when good, else why not.
std::string checkConsoleLogKeep(const std::string& text) {
  unsigned n = 0;
  const char* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc() || rest != end) return "'" + text + "' is not a whole number";
  if (n > SmartvmdOptions::kMaxConsoleLogKeep) return text + " is out of range (0..100)";
  return "";
}

/// The console log options; their values are checked by CLI11 validators so
/// that errors name the option.
void addConsoleLogOptions(CLI::App& app, SmartvmdOptions& opts) {
  auto* dir = app.add_option("--console-log-dir", opts.consoleLogDir,
                             "write every guest's console to DIR/guest-<name>.log (created if missing; "
                             "\"\" for none)")
                  ->capture_default_str();
  app.add_flag_callback("--no-console-log", [&opts] { opts.consoleLogDir.clear(); }, "keep no guest console logs")
      ->excludes(dir);
  app.add_option_function<std::string>(
         "--console-log-size",
         [&opts](const std::string& text) { (void)parseConsoleLogSize(text, opts.consoleLogSize); },
         "rotate a guest's console log past this size: bytes, or with K, M or G (default 1M)")
      ->check(CLI::Validator(
          [](std::string& text) {
            uint64_t bytes = 0;
            return parseConsoleLogSize(text, bytes);
          },
          "SIZE"));
  app.add_option("--console-log-keep", opts.consoleLogKeep, "rotated console logs kept per guest (0: truncate)")
      ->capture_default_str()
      ->check(CLI::Validator(checkConsoleLogKeep, "N"));
}

}  // namespace

std::string parseConsoleLogSize(const std::string& text, uint64_t& bytes) {
  const std::string bad = "'" + text + "' is not a size (bytes, or with K, M or G: 512K, 1M)";
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, value);
  if (rest == text.data() || ec != std::errc()) return bad;
  uint64_t unit = 1;
  if (rest != end) {
    if (end - rest != 1 || suffixPower(*rest) == 0) return bad;
    unit = uint64_t{1} << (10 * suffixPower(*rest));
  }
  if (value > SmartvmdOptions::kMaxConsoleLogSize / unit || value * unit < SmartvmdOptions::kMinConsoleLogSize ||
      value * unit > SmartvmdOptions::kMaxConsoleLogSize) {
    return text + " is out of range (1K..1G)";
  }
  bytes = value * unit;
  return "";
}

SmartvmdArgs parseSmartvmdArgs(int argc, const char* const* argv) {
  SmartvmdOptions opts;
  CLI::App app{
      "smartvmd: the Smart-VM toolstack daemon. Serves the smartvm.v1.Toolstack gRPC API and "
      "drives smartvm-hv over its control socket.",
      "smartvmd"};
  app.add_option("--listen", opts.listen, "where to serve the API: unix:/path or host:port")->capture_default_str();
  app.add_option("--hv-socket", opts.hvSocket, "smartvm-hv's control socket")->capture_default_str();
  app.add_option("--xenstored-socket", opts.xenstoredSocket,
                 "smartvm-xenstored's socket: domains' xenstore nodes and INTRODUCE; \"\" for none "
                 "(domains start without xenstored, with a warning)")
      ->capture_default_str();
  addLogOptions(app, opts.logFile, opts.logLevel);
  addConsoleLogOptions(app, opts);
  SmartvmdArgs result;
  if (!parseDaemonArgs(app, argc, argv, result)) return result;
  result.options = std::move(opts);
  return result;
}

}  // namespace smartvm::dom0
