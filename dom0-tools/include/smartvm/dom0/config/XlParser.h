#pragma once
// The grammar of xl.cfg files (xl's libxlu): `key = value` settings, one per
// line or separated by `;`, `#` comments, values that are "double" or 'single'
// quoted strings, bare numbers, or [ lists ] that may span lines.
#include <string>
#include <string_view>
#include <vector>

#include "smartvm/Result.h"

namespace smartvm::dom0 {

/// The right-hand side of one setting.
struct XlValue {
  enum class Kind { String, Number, Word, List };
  Kind kind = Kind::String;
  std::string text;            ///< unquoted text of a scalar; empty for lists
  std::vector<XlValue> items;  ///< elements of a list (scalars only)
  int line = 0;
};

/// One `key = value` setting and where it was written.
struct XlSetting {
  std::string key;
  XlValue value;
  std::string source;  ///< file name as given by the user, or "command line"
  int line = 0;
};

class XlParser {
 public:
  /// Parses xl.cfg text into settings in file order. `source` names the text in
  /// errors: `guest.cfg:3: memory: unterminated string`. Fails with EINVAL.
  static Result<std::vector<XlSetting>> parse(std::string_view text, const std::string& source);
};

/// `text` quoted for an error message: control bytes escaped, long text cut to 40 characters.
std::string quoteForMessage(std::string_view text);

}  // namespace smartvm::dom0
