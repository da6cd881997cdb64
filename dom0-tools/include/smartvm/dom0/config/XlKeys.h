#pragma once
// The xl config keys Smart-VM understands: one handler per key, looked up by
// name, each checking its value and storing it in the DomainConfig.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Status.h"
#include "smartvm/dom0/config/XlParser.h"
#include "smartvm/v1/domain.pb.h"

namespace smartvm::dom0 {

class XlKeys {
 public:
  /// What the settings have said so far.
  struct State {
    v1::DomainConfig config;
    std::vector<std::string> warnings;
    std::optional<std::string> cmdline;  ///< cmdline, root and extra combine at the end as xl does
    std::optional<std::string> root;
    std::optional<std::string> extra;
  };
  /// Checks one setting and records it in `state`; `baseDir` anchors relative paths.
  using Handler = Status (*)(const XlSetting& setting, const std::filesystem::path& baseDir, State& state);

  /// The handler for `key`, or nullptr for a key Smart-VM does not know.
  static Handler find(std::string_view key);
  /// The warning for a key without a handler: xl keys not supported yet are told apart from typos.
  static std::string unknownKeyWarning(const XlSetting& setting);
};

}  // namespace smartvm::dom0
