// The guest ring on a heap page: requests in, replies out, wrap-around, and
// hostile indexes that must never lead outside the page.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "XsTestClient.h"
#include "smartvm/dom0/xenstore/XsRingTransport.h"

namespace smartvm::dom0::xenstore::test {
namespace {

class XsRingTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    page_.reset(static_cast<char*>(std::aligned_alloc(4096, 4096)));
    std::memset(page_.get(), 0, 4096);
  }
  xenstore_domain_interface* intf() { return reinterpret_cast<xenstore_domain_interface*>(page_.get()); }

  /// What a guest's xenbus driver does: copy into req and publish req_prod.
  void guestSend(const std::string& bytes) {
    for (char ch : bytes) intf()->req[MASK_XENSTORE_IDX(intf()->req_prod++)] = ch;
  }
  /// And its reading side.
  std::string guestReceive() {
    std::string out;
    while (intf()->rsp_cons != intf()->rsp_prod) out.push_back(intf()->rsp[MASK_XENSTORE_IDX(intf()->rsp_cons++)]);
    return out;
  }
  /// One round of the daemon's side: pull requests, handle them, push replies.
  void serve() {
    auto bytes = ring_.readRequests();
    ASSERT_TRUE(bytes.isOk()) << bytes.status().toString();
    core_.receive(conn_, *bytes);
    pending_ += conn_.takeOutput();
    ASSERT_TRUE(ring_.writeResponses(pending_).isOk());
  }

  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> page_;
  int notifies_ = 0;
  XsRingTransport ring_{nullptr, nullptr};
  XsServerCore core_;
  XsConnection& conn_ = core_.addConnection(0);
  std::string pending_;

  void makeRing() {
    ring_ = XsRingTransport(page_.get(), [this] { ++notifies_; });
  }
};

TEST_F(XsRingTransportTest, RequestAndReplyThroughTheRing) {
  makeRing();
  guestSend(XsMessage::encode(XS_WRITE, 1, 0, z("/ring") + "v"));
  guestSend(XsMessage::encode(XS_READ, 2, 0, z("/ring")));
  serve();
  const auto replies = decode(guestReceive());
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].payload, kOk);
  EXPECT_EQ(replies[1].payload, "v");
  EXPECT_EQ(intf()->req_cons, intf()->req_prod);
  EXPECT_GE(notifies_, 1);
}

TEST_F(XsRingTransportTest, IndexesWrapAroundTheirIntegerRange) {
  makeRing();
  for (auto* idx : {&intf()->req_cons, &intf()->req_prod, &intf()->rsp_cons, &intf()->rsp_prod}) *idx = 0xfffffff0u;
  guestSend(XsMessage::encode(XS_WRITE, 1, 0, z("/wrap") + std::string(40, 'w')));
  serve();
  const auto replies = decode(guestReceive());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].payload, kOk);
  EXPECT_LT(intf()->req_prod, 0x100u) << "the producer wrapped";
}

TEST_F(XsRingTransportTest, FullResponseRingTakesWhatFitsAndKeepsTheRest) {
  makeRing();
  std::string out(XENSTORE_RING_SIZE + 100, 'r');
  ASSERT_TRUE(ring_.writeResponses(out).isOk());
  EXPECT_EQ(out.size(), 100u);
  EXPECT_EQ(intf()->rsp_prod - intf()->rsp_cons, static_cast<uint32_t>(XENSTORE_RING_SIZE));
  ASSERT_TRUE(ring_.writeResponses(out).isOk());
  EXPECT_EQ(out.size(), 100u) << "no room until the guest consumes";
  EXPECT_EQ(guestReceive().size(), static_cast<size_t>(XENSTORE_RING_SIZE));
  ASSERT_TRUE(ring_.writeResponses(out).isOk());
  EXPECT_TRUE(out.empty());
}

TEST_F(XsRingTransportTest, HostileRequestIndexesBreakTheRingWithoutReading) {
  makeRing();
  intf()->req_cons = 10;
  intf()->req_prod = 10 + XENSTORE_RING_SIZE + 1;
  auto r = ring_.readRequests();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), EPROTO);
  EXPECT_TRUE(ring_.broken());
  EXPECT_EQ(intf()->error, static_cast<uint32_t>(XENSTORE_ERROR_RINGIDX));
  EXPECT_EQ(intf()->req_cons, 10u) << "nothing consumed";
  intf()->req_prod = 11;  // even honest indexes are ignored from now on
  EXPECT_FALSE(ring_.readRequests().isOk());
  std::string out = "x";
  EXPECT_FALSE(ring_.writeResponses(out).isOk());
}

TEST_F(XsRingTransportTest, ConsumerAheadOfProducerIsHostile) {
  makeRing();
  intf()->req_cons = 100;
  intf()->req_prod = 50;  // prod - cons wraps to almost 2^32
  EXPECT_FALSE(ring_.readRequests().isOk());
}

TEST_F(XsRingTransportTest, HostileResponseIndexesBreakTheRing) {
  makeRing();
  intf()->rsp_prod = 5;
  intf()->rsp_cons = 5000;
  std::string out(64, 'x');
  const Status s = ring_.writeResponses(out);
  EXPECT_EQ(s.code(), EPROTO);
  EXPECT_EQ(out.size(), 64u);
  EXPECT_EQ(intf()->rsp_prod, 5u);
}

TEST_F(XsRingTransportTest, ExactlyAFullRingIsHonest) {
  makeRing();
  intf()->req_cons = 0;
  intf()->req_prod = XENSTORE_RING_SIZE;
  auto r = ring_.readRequests();
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->size(), static_cast<size_t>(XENSTORE_RING_SIZE));
}

TEST_F(XsRingTransportTest, AdvertisesTheErrorFeature) {
  makeRing();
  ring_.advertiseFeatures();
  EXPECT_EQ(intf()->server_features, static_cast<uint32_t>(XENSTORE_SERVER_FEATURE_ERROR));
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
