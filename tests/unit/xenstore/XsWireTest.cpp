// The wire layer: framing across any fragmentation, replies echoing the
// request's ids, and malformed input answered with Xen's error strings.
#include <gtest/gtest.h>

#include <set>

#include "XsTestClient.h"

namespace smartvm::dom0::xenstore::test {
namespace {

class XsWireTest : public ::testing::Test {
 protected:
  std::vector<XsMessage> feed(const std::string& bytes) {
    core_.receive(conn_, bytes);
    return decode(conn_.takeOutput());
  }
  XsServerCore core_;
  XsConnection& conn_ = core_.addConnection(0);
};

TEST_F(XsWireTest, ErrorStringsComeFromXensTable) {
  EXPECT_STREQ(xsErrorString(EINVAL), "EINVAL");
  EXPECT_STREQ(xsErrorString(ENOSPC), "ENOSPC");
  EXPECT_STREQ(xsErrorString(EPERM), "EPERM");
  EXPECT_STREQ(xsErrorString(ETIMEDOUT), "EINVAL") << "untranslatable errors become EINVAL";
}

TEST_F(XsWireTest, ReplyEchoesReqIdAndTxIdAndType) {
  auto out = feed(XsMessage::encode(XS_WRITE, 0xabcd, 0, z("/x") + "v"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hdr.type, static_cast<uint32_t>(XS_WRITE));
  EXPECT_EQ(out[0].hdr.req_id, 0xabcdu);
  EXPECT_EQ(out[0].hdr.len, 3u);
  EXPECT_EQ(out[0].payload, kOk);
  out = feed(XsMessage::encode(XS_READ, 7, 4242, z("/x")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hdr.type, static_cast<uint32_t>(XS_ERROR));
  EXPECT_EQ(out[0].hdr.tx_id, 4242u);
  EXPECT_EQ(out[0].payload, z("ENOENT"));
}

TEST_F(XsWireTest, RequestFedOneByteAtATime) {
  const std::string bytes = XsMessage::encode(XS_WRITE, 1, 0, z("/frag") + "value");
  for (size_t i = 0; i + 1 < bytes.size(); ++i) EXPECT_TRUE(feed(bytes.substr(i, 1)).empty()) << i;
  const auto out = feed(bytes.substr(bytes.size() - 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, kOk);
}

TEST_F(XsWireTest, HeaderSplitAcrossChunksThenTwoMessagesInOne) {
  const std::string a = XsMessage::encode(XS_WRITE, 1, 0, z("/k") + "1");
  const std::string b = XsMessage::encode(XS_READ, 2, 0, z("/k"));
  EXPECT_TRUE(feed(a.substr(0, 7)).empty());
  const auto out = feed(a.substr(7) + b);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].hdr.req_id, 1u);
  EXPECT_EQ(out[1].hdr.req_id, 2u);
  EXPECT_EQ(out[1].payload, "1");
}

TEST_F(XsWireTest, MissingNulTerminatorsAreEINVAL) {
  const std::vector<std::pair<uint32_t, std::string>> bad = {
      {XS_READ, "/a"},
      {XS_WRITE, "/a"},
      {XS_MKDIR, "/a"},
      {XS_RM, ""},
      {XS_DIRECTORY, z("/a") + z("/b")},
      {XS_GET_PERMS, "/"},
      {XS_SET_PERMS, z("/a") + "n0"},
      {XS_WATCH, z("/a") + "tok"},
      {XS_UNWATCH, z("/a")},
      {XS_GET_DOMAIN_PATH, "1"},
      {XS_IS_DOMAIN_INTRODUCED, ""},
      {XS_INTRODUCE, z("1") + z("2") + "3"},
  };
  for (const auto& [type, payload] : bad) {
    const auto out = feed(XsMessage::encode(type, 9, 0, payload));
    ASSERT_EQ(out.size(), 1u) << type;
    EXPECT_EQ(text(out[0]), "E:EINVAL") << "type " << type;
  }
  EXPECT_FALSE(conn_.closed()) << "a bad argument costs one reply, not the connection";
}

TEST_F(XsWireTest, UnknownTypesAreEINVAL) {
  for (uint32_t type : {static_cast<uint32_t>(XS_WATCH_EVENT), static_cast<uint32_t>(XS_ERROR), 20u,
                        static_cast<uint32_t>(XS_TYPE_COUNT), 999u, static_cast<uint32_t>(XS_INVALID)}) {
    const auto out = feed(XsMessage::encode(type, 5, 0, z("/")));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].hdr.type, static_cast<uint32_t>(XS_ERROR));
    EXPECT_EQ(out[0].hdr.req_id, 5u);
    EXPECT_EQ(out[0].payload, z("EINVAL")) << "type " << type;
  }
}

TEST_F(XsWireTest, PayloadOfExactlyThePayloadMaxIsAccepted) {
  const std::string path = z("/max");
  const std::string value(XENSTORE_PAYLOAD_MAX - path.size(), 'v');
  const auto out = feed(XsMessage::encode(XS_WRITE, 1, 0, path + value));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, kOk);
}

TEST_F(XsWireTest, OversizedPayloadIsE2BIGAndEndsTheConnection) {
  xsd_sockmsg hdr{XS_WRITE, 77, 0, XENSTORE_PAYLOAD_MAX + 1};
  std::string bytes(reinterpret_cast<const char*>(&hdr), sizeof hdr);
  auto out = feed(bytes);  // judged on the header alone: the payload is never buffered
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hdr.req_id, 77u);
  EXPECT_EQ(text(out[0]), "E:E2BIG");
  EXPECT_TRUE(conn_.closed());
  EXPECT_TRUE(feed(XsMessage::encode(XS_READ, 1, 0, z("/"))).empty()) << "nothing is handled after that";
}

TEST_F(XsWireTest, HugeLengthFieldDoesNotAllocate) {
  xsd_sockmsg hdr{XS_READ, 1, 0, 0xffffffffu};
  const auto out = feed(std::string(reinterpret_cast<const char*>(&hdr), sizeof hdr));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(text(out[0]), "E:E2BIG");
}

TEST_F(XsWireTest, TooBigDirectoryReplyIsE2BIG) {
  XsTestClient c(core_, 0);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(c.mkdir("/big/" + std::string(80, 'a') + std::to_string(i)), kOk);
  EXPECT_EQ(c.dir("/big"), "E:E2BIG");
}

TEST_F(XsWireTest, DirectoryPartPagesThroughABigDirectory) {
  XsTestClient c(core_, 0);
  std::set<std::string> names;  // DIRECTORY lists children sorted
  for (int i = 0; i < 60; ++i) names.insert(std::string(80, 'a') + std::to_string(i));
  std::string expected;
  for (const auto& name : names) {
    ASSERT_EQ(c.mkdir("/big/" + name), kOk);
    expected += z(name);
  }
  std::string all;
  std::string generation;
  for (int parts = 0; parts < 10; ++parts) {
    const std::string reply = c.op(XS_DIRECTORY_PART, z("/big") + z(std::to_string(all.size())));
    ASSERT_LE(reply.size(), static_cast<size_t>(XENSTORE_PAYLOAD_MAX));
    const size_t genEnd = reply.find('\0');
    ASSERT_NE(genEnd, std::string::npos) << reply;
    if (generation.empty()) generation = reply.substr(0, genEnd);
    EXPECT_EQ(reply.substr(0, genEnd), generation) << "nothing changed between the parts";
    std::string chunk = reply.substr(genEnd + 1);
    const bool last = chunk.size() >= 2 && chunk.substr(chunk.size() - 2) == std::string(2, '\0');
    if (last) chunk.pop_back();
    all += chunk;
    if (last) break;
  }
  EXPECT_EQ(all, expected);
  EXPECT_EQ(c.op(XS_DIRECTORY_PART, z("/big") + z("999999")), z(generation) + z(""));
  EXPECT_EQ(c.op(XS_DIRECTORY_PART, z("/big") + z("x")), "E:EINVAL");
  EXPECT_EQ(c.op(XS_DIRECTORY_PART, z("/nope") + z("0")), "E:ENOENT");
}

TEST_F(XsWireTest, SplitStringsHelpers) {
  EXPECT_EQ(xsSplitStrings(""), std::vector<std::string>{});
  EXPECT_EQ(xsSplitStrings(z("a") + z("") + z("b")), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_FALSE(xsSplitStrings(z("a") + "b").has_value());
  EXPECT_FALSE(xsOneArg(z("a") + z("b")).has_value());
  EXPECT_EQ(xsOneArg(z("a")), "a");
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
