#pragma once
// xl config files (xl.cfg(5)) turned into a DomainConfig: the keys Smart-VM
// understands, their defaults and limits, and xl create's key=value overrides.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

/// A parsed config and the warnings (unknown keys, ignored settings) for the user.
struct ParsedDomainConfig {
  v1::DomainConfig config;
  std::vector<std::string> warnings;  ///< each "guest.cfg:7: memroy: unknown key, ignored"
};

class XlConfig {
 public:
  /// Larger files are refused: a config is a few hundred bytes.
  static constexpr size_t kMaxFileBytes = 1u << 20;
  /// Source name of the overrides in messages: "command line:2: memory: ..." is the second override.
  static constexpr const char* kOverrideSource = "command line";

  /// Reads and parses the xl config file at `path`, then applies `overrides`
  /// ("key=value" each, in xl's syntax, later ones win). Errors (EINVAL, or the
  /// errno of reading the file) name the file, the line and the key.
  static Result<ParsedDomainConfig> parseFile(const std::string& path, const std::vector<std::string>& overrides = {});

  /// Parses config text named `source` in messages. Relative kernel and ramdisk
  /// paths in the text resolve against `baseDir`, those in overrides against `overrideBaseDir`.
  static Result<ParsedDomainConfig> parseText(std::string_view text, const std::string& source,
                                              const std::filesystem::path& baseDir,
                                              const std::vector<std::string>& overrides = {},
                                              const std::filesystem::path& overrideBaseDir = {});
};

}  // namespace smartvm::dom0
