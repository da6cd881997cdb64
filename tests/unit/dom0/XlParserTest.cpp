// The xl.cfg grammar: values, lists, comments, quoting, and hostile input.
#include <gtest/gtest.h>

#include "smartvm/dom0/config/XlParser.h"

namespace smartvm::dom0 {
namespace {

using Kind = XlValue::Kind;

std::vector<XlSetting> parseOk(std::string_view text) {
  auto r = XlParser::parse(text, "t.cfg");
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<XlSetting>{};
}

std::string parseError(std::string_view text) {
  auto r = XlParser::parse(text, "t.cfg");
  EXPECT_FALSE(r.isOk());
  if (r.isOk()) return "";
  EXPECT_EQ(r.status().code(), EINVAL);
  return r.status().message();
}

TEST(XlParser, ScalarsOfEveryKindWithLinesAndSource) {
  const auto s = parseOk("name = \"web\"\n\nmemory=512\nkernel = 'vmlinuz'\nx = 0x1F\ny = -3\n");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].key, "name");
  EXPECT_EQ(s[0].value.kind, Kind::String);
  EXPECT_EQ(s[0].value.text, "web");
  EXPECT_EQ(s[0].line, 1);
  EXPECT_EQ(s[0].source, "t.cfg");
  EXPECT_EQ(s[1].value.kind, Kind::Number);
  EXPECT_EQ(s[1].value.text, "512");
  EXPECT_EQ(s[1].line, 3);
  EXPECT_EQ(s[2].value.kind, Kind::String);
  EXPECT_EQ(s[2].value.text, "vmlinuz");
  EXPECT_EQ(s[3].value.kind, Kind::Number);
  EXPECT_EQ(s[3].value.text, "0x1F");
  EXPECT_EQ(s[4].value.kind, Kind::Number);
  EXPECT_EQ(s[4].value.text, "-3");
}

TEST(XlParser, CommentsSemicolonsBlankLinesAndCrlf) {
  const auto s = parseOk("# header\r\n  a = 1 ; b = \"two\";  # trailing\r\n\t\n;;\nc = 3 # x = 4\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].key, "a");
  EXPECT_EQ(s[1].key, "b");
  EXPECT_EQ(s[1].value.text, "two");
  EXPECT_EQ(s[1].line, 2);
  EXPECT_EQ(s[2].key, "c");
  EXPECT_EQ(s[2].value.text, "3");
  EXPECT_EQ(s[2].line, 5);
}

TEST(XlParser, HashInsideAStringIsText) {
  const auto s = parseOk("cmdline = \"console=hvc0 # not a comment\"\n");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].value.text, "console=hvc0 # not a comment");
}

TEST(XlParser, ListsSpanLinesWithCommentsAndTrailingComma) {
  const auto s = parseOk("disk = [ 'a.img,raw,xvda,rw', # first\n  \"b.img\" ,\n\n  7,\n]\nvif = []\nz = 1\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].value.kind, Kind::List);
  ASSERT_EQ(s[0].value.items.size(), 3u);
  EXPECT_EQ(s[0].value.items[0].text, "a.img,raw,xvda,rw");
  EXPECT_EQ(s[0].value.items[1].text, "b.img");
  EXPECT_EQ(s[0].value.items[1].line, 2);
  EXPECT_EQ(s[0].value.items[2].kind, Kind::Number);
  EXPECT_EQ(s[1].value.kind, Kind::List);
  EXPECT_TRUE(s[1].value.items.empty());
  EXPECT_EQ(s[1].line, 6);
  EXPECT_EQ(s[2].line, 7);
}

TEST(XlParser, EscapesInBothQuoteStyles) {
  const auto s = parseOk(R"(a = "q\"uote\\ \n\t\x41" )"
                         "\n"
                         R"(b = 'it\'s "fine"')"
                         "\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].value.text, "q\"uote\\ \n\tA");
  EXPECT_EQ(s[1].value.text, "it's \"fine\"");
}

TEST(XlParser, EmptyTextHasNoSettings) {
  EXPECT_TRUE(parseOk("").empty());
  EXPECT_TRUE(parseOk("# only a comment").empty());
}

TEST(XlParser, BareWordsAreWords) {
  const auto s = parseOk("kernel = /boot/vmlinuz\n");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].value.kind, Kind::Word);
  EXPECT_EQ(s[0].value.text, "/boot/vmlinuz");
}

TEST(XlParser, SyntaxErrorsNameFileLineAndKey) {
  EXPECT_EQ(parseError("a = 1\nname = \"web\n"), "t.cfg:2: name: unterminated string");
  EXPECT_EQ(parseError("name = 'web"), "t.cfg:1: name: unterminated string");
  EXPECT_EQ(parseError("\n\ndisk = [ 'a',\n 'b'\n"),
            "t.cfg:3: disk: unterminated list (no ']' before the end of the file)");
  EXPECT_EQ(parseError("disk = [ 'a' 'b' ]"), "t.cfg:1: disk: expected ',' or ']' in the list, got \"'b'\"");
  EXPECT_EQ(parseError("disk = [ ['a'] ]"), "t.cfg:1: disk: lists cannot be nested");
  EXPECT_EQ(parseError("memory =\n"), "t.cfg:1: memory: missing value");
  EXPECT_EQ(parseError("memory = # none\n"), "t.cfg:1: memory: missing value");
  EXPECT_EQ(parseError("memory 512\n"), "t.cfg:1: memory: expected '=' after the key, got \"512\"");
  EXPECT_EQ(parseError("x = 1\n= 5\n"), "t.cfg:2: expected a key name, got \"=\"");
  EXPECT_EQ(parseError("9lives = 1"), "t.cfg:1: expected a key name, got \"9lives\"");
  EXPECT_EQ(parseError("memory = 512 1024\n"), "t.cfg:1: memory: unexpected \"1024\" after the value");
  EXPECT_EQ(parseError("a = \"x\\q\""), "t.cfg:1: a: unknown escape '\\q' in string");
  EXPECT_EQ(parseError("a = \"\\x00\""), "t.cfg:1: a: \\x00 would put a NUL byte in the string");
  EXPECT_EQ(parseError("a = \"\\xZZ\""), "t.cfg:1: a: \\x needs hex digits");
}

TEST(XlParser, NulBytesAreRefusedWithTheirLine) {
  const std::string text("a = 1\nb = \"x\0y\"\n", 15);
  EXPECT_EQ(parseError(text), "t.cfg:2: the file contains a NUL byte");
}

TEST(XlParser, VeryLongLinesParseAndErrorsStayShort) {
  const std::string big(200000, 'x');
  const auto s = parseOk("cmdline = \"" + big + "\"\n");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].value.text.size(), big.size());
  const std::string message = parseError("memory = 1 " + big + "\n");
  EXPECT_LT(message.size(), 120u);
  EXPECT_NE(message.find("... (200000 bytes)"), std::string::npos);
}

TEST(XlParser, ControlBytesAreEscapedInMessages) {
  EXPECT_EQ(quoteForMessage("a\x01\x7f\"b"), "\"a\\x01\\x7f\\\"b\"");
  EXPECT_EQ(quoteForMessage(std::string(41, 'z')), "\"" + std::string(40, 'z') + "\"... (41 bytes)");
}

TEST(XlParser, ManyListItemsAndDeepLineCounts) {
  std::string text = "l = [\n";
  for (int i = 0; i < 10000; ++i) text += "'" + std::to_string(i) + "',\n";
  text += "]\nlast = 1\n";
  const auto s = parseOk(text);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].value.items.size(), 10000u);
  EXPECT_EQ(s[1].line, 10003);
}

}  // namespace
}  // namespace smartvm::dom0
