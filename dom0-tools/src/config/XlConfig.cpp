#include "smartvm/dom0/config/XlConfig.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <optional>

#include "smartvm/dom0/config/DomainConfigRules.h"
#include "smartvm/dom0/config/XlKeys.h"
#include "smartvm/dom0/config/XlParser.h"

namespace smartvm::dom0 {
namespace {

namespace fs = std::filesystem;

/// A setting and the directory its relative paths resolve against.
struct Located {
  XlSetting setting;
  fs::path baseDir;
};

Result<std::vector<Located>> parseOverrides(const std::vector<std::string>& overrides, const fs::path& baseDir) {
  std::string joined;
  for (size_t i = 0; i < overrides.size(); ++i) {
    if (overrides[i].find('\n') != std::string::npos) {
      return error(EINVAL, fmt::format("{}:{}: an override cannot span lines", XlConfig::kOverrideSource, i + 1));
    }
    joined += overrides[i] + '\n';
  }
  SMARTVM_ASSIGN_OR_RETURN(std::vector<XlSetting> settings, XlParser::parse(joined, XlConfig::kOverrideSource));
  std::vector<Located> out;
  for (auto& s : settings) out.push_back({std::move(s), baseDir});
  return out;
}

/// Keeps the last setting of each key (xl's rule, which also makes overrides win)
/// and warns when one file sets a key twice.
std::vector<const Located*> lastSettings(const std::vector<Located>& all, std::vector<std::string>& warnings) {
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < all.size(); ++i) {
    const XlSetting& s = all[i].setting;
    auto [it, inserted] = last.try_emplace(s.key, i);
    if (!inserted) {
      const XlSetting& earlier = all[it->second].setting;
      if (earlier.source == s.source) {
        warnings.push_back(fmt::format("{}:{}: {}: set again, the value on line {} is ignored", s.source, s.line, s.key,
                                       earlier.line));
      }
      it->second = i;
    }
  }
  std::vector<const Located*> out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (last[all[i].setting.key] == i) out.push_back(&all[i]);
  }
  return out;
}

Status applySettings(const std::vector<const Located*>& settings, XlKeys::State& state) {
  for (const Located* l : settings) {
    const XlKeys::Handler handler = XlKeys::find(l->setting.key);
    if (handler == nullptr) {
      state.warnings.push_back(XlKeys::unknownKeyWarning(l->setting));
      continue;
    }
    SMARTVM_TRY(handler(l->setting, l->baseDir, state));
  }
  return Status::ok();
}

Status missing(const std::string& source, const char* key) {
  return error(EINVAL, fmt::format("{}: {}: required key is missing", source, key));
}

/// xl's rule for the kernel command line: cmdline wins over root and extra;
/// otherwise "root=<root> <extra>".
std::string commandLine(XlKeys::State& state, const std::string& source) {
  if (state.cmdline) {
    if (state.root || state.extra) {
      state.warnings.push_back(source + ": cmdline: root and extra are ignored in favour of cmdline (as xl does)");
    }
    return *state.cmdline;
  }
  if (state.root && state.extra) return "root=" + *state.root + " " + *state.extra;
  if (state.root) return "root=" + *state.root;
  return state.extra.value_or("");
}

/// Reads a whole config file; refuses what is not a regular file or is too large to be a config.
Result<std::string> readConfigFile(const std::string& path) {
  // O_NONBLOCK so that a FIFO named by mistake cannot hang the reader.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return error(errno, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error(EINVAL, fmt::format("{}: not a regular file", path));
  }
  std::string text;
  char buf[8192];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buf, static_cast<size_t>(n));
    if (text.size() > XlConfig::kMaxFileBytes) break;
  }
  const int readErrno = errno;
  ::close(fd);
  if (n < 0) return error(readErrno, fmt::format("{}: read error: {}", path, std::strerror(readErrno)));
  if (text.size() > XlConfig::kMaxFileBytes) {
    return error(EFBIG, fmt::format("{}: larger than {} bytes, not an xl config file", path, XlConfig::kMaxFileBytes));
  }
  return text;
}

}  // namespace

Result<ParsedDomainConfig> XlConfig::parseText(std::string_view text, const std::string& source,
                                               const fs::path& baseDir, const std::vector<std::string>& overrides,
                                               const fs::path& overrideBaseDir) {
  SMARTVM_ASSIGN_OR_RETURN(std::vector<XlSetting> fileSettings, XlParser::parse(text, source));
  std::vector<Located> all;
  for (auto& s : fileSettings) all.push_back({std::move(s), baseDir});
  std::error_code ec;
  const fs::path overrideBase = overrideBaseDir.empty() ? fs::current_path(ec) : overrideBaseDir;
  SMARTVM_ASSIGN_OR_RETURN(std::vector<Located> overrideSettings, parseOverrides(overrides, overrideBase));
  for (auto& l : overrideSettings) all.push_back(std::move(l));

  XlKeys::State state;
  const std::vector<const Located*> effective = lastSettings(all, state.warnings);
  SMARTVM_TRY(applySettings(effective, state));
  if (state.config.name().empty()) return missing(source, "name");
  if (state.config.kernel().empty()) return missing(source, "kernel");
  state.config.set_cmdline(commandLine(state, source));
  DomainConfigRules::applyDefaults(state.config);
  state.config.set_source_file(source);
  return ParsedDomainConfig{std::move(state.config), std::move(state.warnings)};
}

Result<ParsedDomainConfig> XlConfig::parseFile(const std::string& path, const std::vector<std::string>& overrides) {
  SMARTVM_ASSIGN_OR_RETURN(std::string text, readConfigFile(path));
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  const fs::path cwd = fs::current_path(ec);
  SMARTVM_ASSIGN_OR_RETURN(ParsedDomainConfig parsed, parseText(text, path, absolute.parent_path(), overrides, cwd));
  parsed.config.set_source_file(absolute.lexically_normal().string());
  return parsed;
}

}  // namespace smartvm::dom0
