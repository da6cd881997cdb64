// xs_wire on the guest side: requests built by XsRequest, replies and watch
// events reassembled by XsInbox from any fragmentation, error names decoded,
// and a daemon that sends oversized or unknown messages is caught. The last
// test runs a whole request/reply exchange through the ring page.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <xen/errno.h>
#include <xen/io/xs_wire.h>

#include "lib/ByteRing.h"
#include "lib/XsInbox.h"
#include "lib/XsRequest.h"

namespace {

std::string payloadOf(const XsRequest& r) { return std::string(r.bytes() + sizeof(xsd_sockmsg), r.header().len); }
std::string str(Str s) { return std::string(s.data, s.size); }

std::string message(uint32_t type, uint32_t reqId, const std::string& payload, uint32_t tx = 0) {
  xsd_sockmsg h{type, reqId, tx, static_cast<uint32_t>(payload.size())};
  std::string m(reinterpret_cast<const char*>(&h), sizeof(h));
  return m + payload;
}

void feed(XsInbox& in, const std::string& bytes, size_t chunk) {
  size_t at = 0;
  while (at < bytes.size() && in.want() != 0) {
    size_t n = std::min({chunk, in.want(), bytes.size() - at});
    std::memcpy(in.space(), bytes.data() + at, n);
    in.commit(n);
    at += n;
  }
}

TEST(XsRequest, ReadIsThePathAndItsNul) {
  XsRequest r;
  r.begin(XS_READ, 7, 0);
  r.arg("/local/domain/3/name");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.header().type, static_cast<uint32_t>(XS_READ));
  EXPECT_EQ(r.header().req_id, 7u);
  EXPECT_EQ(r.header().tx_id, 0u);
  EXPECT_EQ(payloadOf(r), std::string("/local/domain/3/name\0", 21));
  EXPECT_EQ(r.size(), sizeof(xsd_sockmsg) + 21);
}

TEST(XsRequest, WriteValueHasNoTerminator) {
  XsRequest r;
  r.begin(XS_WRITE, 1, 9);
  r.arg("data/x").raw("hello");
  EXPECT_EQ(payloadOf(r), std::string("data/x\0hello", 12));
  EXPECT_EQ(r.header().tx_id, 9u);
}

TEST(XsRequest, WatchIsPathAndToken) {
  XsRequest r;
  r.begin(XS_WATCH, 2, 0);
  r.arg("backend/vbd").arg("tok");
  EXPECT_EQ(payloadOf(r), std::string("backend/vbd\0tok\0", 16));
}

TEST(XsRequest, PayloadOverTheMaximumIsRefused) {
  XsRequest r;
  r.begin(XS_WRITE, 1, 0);
  std::string big(XENSTORE_PAYLOAD_MAX - 3, 'v');
  r.arg("ab").raw(Str(big.data(), big.size()));  // 3 + 4093 = 4096: fits exactly
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.header().len, static_cast<uint32_t>(XENSTORE_PAYLOAD_MAX));
  r.raw("x");
  EXPECT_FALSE(r.ok());
  r.begin(XS_READ, 2, 0);  // a new request starts clean
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.header().len, 0u);
}

TEST(XsError, NamesDecodeToXenErrnos) {
  EXPECT_EQ(xsErrorNumber(Str("ENOENT\0", 7)), -XEN_ENOENT);
  EXPECT_EQ(xsErrorNumber("EACCES"), -XEN_EACCES);
  EXPECT_EQ(xsErrorNumber("EAGAIN"), -XEN_EAGAIN);
  EXPECT_EQ(xsErrorNumber("E2BIG"), -XEN_E2BIG);
  EXPECT_EQ(xsErrorNumber("EQUOTA"), -XEN_EINVAL);  // unknown: EINVAL, as Linux
  EXPECT_EQ(xsErrorNumber(""), -XEN_EINVAL);
  EXPECT_STREQ(xsErrorName(-XEN_ENOENT), "ENOENT");
  EXPECT_STREQ(xsErrorName(-XEN_ETIMEDOUT), "ETIMEDOUT");
  EXPECT_STREQ(xsErrorName(-12345), "E?");
}

TEST(XsInbox, ReassemblesFromSingleBytes) {
  XsInbox in;
  feed(in, message(XS_READ, 5, "value"), 1);
  ASSERT_TRUE(in.complete());
  EXPECT_EQ(in.header().req_id, 5u);
  EXPECT_EQ(str(in.payload()), "value");
  EXPECT_EQ(in.want(), 0u);
  in.reset();
  EXPECT_FALSE(in.complete());
  EXPECT_EQ(in.want(), sizeof(xsd_sockmsg));
}

TEST(XsInbox, TwoMessagesBackToBackAreSeparated) {
  const std::string a = message(XS_WATCH_EVENT, 0, std::string("/a/b\0tok\0", 9));
  const std::string b = message(XS_WRITE, 8, std::string("OK\0", 3));
  const std::string both = a + b;
  XsInbox in;
  feed(in, both, 7);  // stops after the first message
  ASSERT_TRUE(in.complete());
  Str path, token;
  ASSERT_TRUE(parseWatchEvent(in.payload(), path, token));
  EXPECT_EQ(str(path), "/a/b");
  EXPECT_EQ(str(token), "tok");
  in.reset();
  feed(in, both.substr(a.size()), 1000);
  ASSERT_TRUE(in.complete());
  EXPECT_EQ(in.header().type, static_cast<uint32_t>(XS_WRITE));
  EXPECT_EQ(in.header().req_id, 8u);
}

TEST(XsInbox, EmptyPayloadCompletesWithTheHeader) {
  XsInbox in;
  feed(in, message(XS_READ, 1, ""), 16);
  EXPECT_TRUE(in.complete());
  EXPECT_EQ(in.payload().size, 0u);
}

TEST(XsInbox, OversizedLengthBreaksTheStream) {
  XsInbox in;
  xsd_sockmsg h{XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1};
  std::memcpy(in.space(), &h, sizeof(h));
  in.commit(sizeof(h));
  EXPECT_TRUE(in.bad());
  EXPECT_FALSE(in.complete());
  EXPECT_EQ(in.want(), 0u);  // never asks for the bytes that would overrun
}

TEST(XsInbox, UnknownTypeBreaksTheStream) {
  XsInbox in;
  feed(in, message(XS_TYPE_COUNT + 5, 1, "x"), 64);
  EXPECT_TRUE(in.bad());
}

TEST(XsInbox, CommittingMoreThanWantedBreaksTheStream) {
  XsInbox in;
  in.commit(sizeof(xsd_sockmsg) + 1);
  EXPECT_TRUE(in.bad());
}

TEST(XsStrings, DirectoryEntries) {
  const std::string listing("backend\0device\0data\0", 20);
  XsStrings s(Str(listing.data(), listing.size()));
  std::vector<std::string> names;
  for (Str n; s.next(n);) names.push_back(str(n));
  EXPECT_EQ(names, (std::vector<std::string>{"backend", "device", "data"}));
}

TEST(XsStrings, LastEntryWithoutNulStillCounts) {
  const std::string listing("a\0bc", 4);
  XsStrings s(Str(listing.data(), listing.size()));
  Str n;
  ASSERT_TRUE(s.next(n));
  EXPECT_EQ(str(n), "a");
  ASSERT_TRUE(s.next(n));
  EXPECT_EQ(str(n), "bc");
  EXPECT_FALSE(s.next(n));
}

TEST(XsWatchEvent, MalformedPayloadsAreRejected) {
  Str path, token;
  EXPECT_FALSE(parseWatchEvent(Str("", 0), path, token));
  EXPECT_FALSE(parseWatchEvent(Str("\0tok\0", 5), path, token));  // empty path
  const std::string onlyPath("/p\0", 3);
  EXPECT_FALSE(parseWatchEvent(Str(onlyPath.data(), onlyPath.size()), path, token));
}

// A request through the req ring as a daemon sees it, and the reply back
// through rsp split by the ring's end, as the guest driver runs them.
TEST(XsRing, RequestAndReplyThroughThePage) {
  xenstore_domain_interface intf{};
  intf.req_prod = intf.req_cons = 1000;  // the request crosses the ring end
  intf.rsp_prod = intf.rsp_cons = 1020;
  ByteRing req(intf.req, XENSTORE_RING_SIZE, &intf.req_prod, &intf.req_cons);
  ByteRing rsp(intf.rsp, XENSTORE_RING_SIZE, &intf.rsp_prod, &intf.rsp_cons);
  XsRequest r;
  r.begin(XS_DIRECTORY, 42, 0);
  r.arg("/local/domain/1/device/vbd");
  ASSERT_EQ(req.write(r.bytes(), r.size()), static_cast<long>(r.size()));

  // The daemon: read the request with a consumer of its own.
  std::vector<char> got(r.size());
  ByteRing daemonReq(intf.req, XENSTORE_RING_SIZE, &intf.req_prod, &intf.req_cons);
  ASSERT_EQ(daemonReq.read(got.data(), got.size()), static_cast<long>(got.size()));
  EXPECT_EQ(std::memcmp(got.data(), r.bytes(), r.size()), 0);
  ByteRing daemonRsp(intf.rsp, XENSTORE_RING_SIZE, &intf.rsp_prod, &intf.rsp_cons);
  const std::string reply = message(XS_DIRECTORY, 42, std::string("51712\0", 6));
  ASSERT_EQ(daemonRsp.write(reply.data(), reply.size()), static_cast<long>(reply.size()));

  XsInbox in;
  while (in.want() != 0) {
    long n = rsp.read(in.space(), in.want());
    ASSERT_GT(n, 0);
    in.commit(static_cast<size_t>(n));
  }
  ASSERT_TRUE(in.complete());
  EXPECT_EQ(in.header().req_id, 42u);
  XsStrings s(in.payload());
  Str name;
  ASSERT_TRUE(s.next(name));
  EXPECT_EQ(str(name), "51712");
}

}  // namespace
