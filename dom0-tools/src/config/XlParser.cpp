#include "smartvm/dom0/config/XlParser.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace smartvm::dom0 {
namespace {

constexpr size_t kQuoteLimit = 40;

bool isKeyStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool isKeyChar(char c) { return isKeyStart(c) || (c >= '0' && c <= '9') || c == '.'; }
bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
/// Characters that end a bare (unquoted) value.
bool endsWord(char c) {
  return isBlank(c) || c == '\n' || c == ',' || c == ']' || c == '[' || c == ';' || c == '#' || c == '=' || c == '"' ||
         c == '\'';
}

bool isNumber(std::string_view t) {
  if (!t.empty() && t.front() == '-') t.remove_prefix(1);
  if (t.empty()) return false;
  size_t i = 0;
  bool hex = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
  if (hex) i = 2;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    const bool digit = c >= '0' && c <= '9';
    const bool hexDigit = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit && !(hex && hexDigit)) return false;
  }
  return true;
}

std::optional<int> hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

/// A cursor over the text that knows its line and builds located errors.
class Cursor {
 public:
  Cursor(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }
  char next() {
    const char c = text_[pos_++];
    if (c == '\n') ++line_;
    return c;
  }
  int line() const { return line_; }

  void skipBlanks() {
    while (!atEnd() && isBlank(peek())) next();
  }
  void skipComment() {
    if (peek() != '#') return;
    while (!atEnd() && peek() != '\n') next();
  }
  /// Skips blanks, comments and newlines: the filler allowed inside a list.
  void skipFiller() {
    for (;;) {
      skipBlanks();
      skipComment();
      if (peek() != '\n') return;
      next();
    }
  }
  /// What is at the cursor, for messages: the rest of the token or "end of line".
  std::string describeHere() const {
    if (atEnd()) return "end of file";
    if (peek() == '\n') return "end of line";
    size_t end = pos_ + 1;
    if (peek() == '"' || peek() == '\'') {
      while (end < text_.size() && text_[end] != peek() && text_[end] != '\n') ++end;
      if (end < text_.size() && text_[end] == peek()) ++end;
    } else {
      while (end < text_.size() && !endsWord(text_[end])) ++end;
    }
    return quoteForMessage(text_.substr(pos_, end - pos_));
  }

  Status fail(const std::string& key, const std::string& what) const { return failAt(line_, key, what); }
  Status failAt(int line, const std::string& key, const std::string& what) const {
    if (key.empty()) return error(EINVAL, fmt::format("{}:{}: {}", source_, line, what));
    return error(EINVAL, fmt::format("{}:{}: {}: {}", source_, line, key, what));
  }

 private:
  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
  int line_ = 1;
};

Result<char> parseEscape(Cursor& c, const std::string& key) {
  if (c.atEnd() || c.peek() == '\n') return c.fail(key, "unterminated string");
  const char e = c.next();
  switch (e) {
    case '\\':
    case '"':
    case '\'': return e;
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'a': return '\a';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'x': {
      int value = 0, digits = 0;
      while (digits < 2 && hexValue(c.peek())) {
        value = value * 16 + *hexValue(c.next());
        ++digits;
      }
      if (digits == 0) return c.fail(key, "\\x needs hex digits");
      if (value == 0) return c.fail(key, "\\x00 would put a NUL byte in the string");
      return static_cast<char>(value);
    }
    default:
      if (e > ' ' && e < 0x7f) return c.fail(key, fmt::format("unknown escape '\\{}' in string", e));
      return c.fail(key, fmt::format("unknown escape: backslash before byte 0x{:02x}", static_cast<unsigned char>(e)));
  }
}

Result<XlValue> parseString(Cursor& c, const std::string& key) {
  XlValue v{XlValue::Kind::String, {}, {}, c.line()};
  const char quote = c.next();
  for (;;) {
    // xl strings end at their line: a missing quote must not swallow the rest of the file.
    if (c.atEnd() || c.peek() == '\n') return c.fail(key, "unterminated string");
    const char ch = c.next();
    if (ch == quote) return v;
    if (ch != '\\') {
      v.text += ch;
      continue;
    }
    SMARTVM_ASSIGN_OR_RETURN(const char unescaped, parseEscape(c, key));
    v.text += unescaped;
  }
}

Result<XlValue> parseScalar(Cursor& c, const std::string& key) {
  if (c.peek() == '"' || c.peek() == '\'') return parseString(c, key);
  if (c.atEnd() || c.peek() == '\n' || c.peek() == '#' || c.peek() == ';') return c.fail(key, "missing value");
  if (endsWord(c.peek())) return c.fail(key, "expected a value, got " + c.describeHere());
  XlValue v{XlValue::Kind::Word, {}, {}, c.line()};
  while (!c.atEnd() && !endsWord(c.peek())) v.text += c.next();
  if (isNumber(v.text)) v.kind = XlValue::Kind::Number;
  return v;
}

Result<XlValue> parseList(Cursor& c, const std::string& key) {
  XlValue list{XlValue::Kind::List, {}, {}, c.line()};
  c.next();  // '['
  for (;;) {
    c.skipFiller();
    if (c.atEnd()) return c.failAt(list.line, key, "unterminated list (no ']' before the end of the file)");
    if (c.peek() == ']') break;
    if (c.peek() == '[') return c.fail(key, "lists cannot be nested");
    SMARTVM_ASSIGN_OR_RETURN(XlValue item, parseScalar(c, key));
    list.items.push_back(std::move(item));
    c.skipFiller();
    if (c.peek() == ',') {
      c.next();
      continue;
    }
    if (c.atEnd()) return c.failAt(list.line, key, "unterminated list (no ']' before the end of the file)");
    if (c.peek() != ']') return c.fail(key, "expected ',' or ']' in the list, got " + c.describeHere());
  }
  c.next();  // ']'
  return list;
}

Result<XlSetting> parseSetting(Cursor& c, const std::string& source) {
  XlSetting s;
  s.source = source;
  s.line = c.line();
  if (!isKeyStart(c.peek())) return c.fail("", "expected a key name, got " + c.describeHere());
  while (!c.atEnd() && isKeyChar(c.peek())) s.key += c.next();
  c.skipBlanks();
  if (c.peek() != '=') return c.fail(s.key, "expected '=' after the key, got " + c.describeHere());
  c.next();
  c.skipBlanks();
  if (c.peek() == '[') {
    SMARTVM_ASSIGN_OR_RETURN(s.value, parseList(c, s.key));
  } else {
    SMARTVM_ASSIGN_OR_RETURN(s.value, parseScalar(c, s.key));
  }
  c.skipBlanks();
  c.skipComment();
  if (!c.atEnd() && c.peek() != '\n' && c.peek() != ';') {
    return c.fail(s.key, "unexpected " + c.describeHere() + " after the value");
  }
  return s;
}

}  // namespace

std::string quoteForMessage(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kQuoteLimit; ++i) {
    const unsigned char ch = static_cast<unsigned char>(text[i]);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20 || ch == 0x7f) {
      out += fmt::format("\\x{:02x}", ch);
    } else {
      out += static_cast<char>(ch);
    }
  }
  out += '"';
  if (text.size() > kQuoteLimit) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

Result<std::vector<XlSetting>> XlParser::parse(std::string_view text, const std::string& source) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + nul, '\n'));
    return error(EINVAL, fmt::format("{}:{}: the file contains a NUL byte", source, line));
  }
  Cursor c(text, source);
  std::vector<XlSetting> settings;
  for (;;) {
    c.skipBlanks();
    c.skipComment();
    if (c.atEnd()) return settings;
    if (c.peek() == '\n' || c.peek() == ';') {
      c.next();
      continue;
    }
    SMARTVM_ASSIGN_OR_RETURN(XlSetting s, parseSetting(c, source));
    settings.push_back(std::move(s));
  }
}

}  // namespace smartvm::dom0
