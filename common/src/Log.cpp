#include "smartvm/Log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <filesystem>
#include <memory>
#include <vector>

namespace smartvm {

Status initLogging(const LogOptions& opts) {
  const auto level = spdlog::level::from_str(opts.level);
  if (level == spdlog::level::off && opts.level != "off") {
    return error(EINVAL, "unknown log level '" + opts.level + "' (trace, debug, info, warn, error, off)");
  }
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!opts.file.empty()) {
    const auto dir = std::filesystem::path(opts.file).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return error(ec.value(), "cannot create " + dir.string() + ": " + ec.message());
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(opts.file));
    } catch (const spdlog::spdlog_ex& e) {
      return error(EACCES, "cannot open log file " + opts.file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>(opts.name, sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::ok();
}

}  // namespace smartvm
