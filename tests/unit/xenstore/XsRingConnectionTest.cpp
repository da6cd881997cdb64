// A guest's connection through its ring page, end to end with the core:
// requests on kicks, watch events pushed unasked, backlog when the ring is
// full, and a connection closed after hostile indexes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "XsTestClient.h"
#include "smartvm/dom0/xenstore/XsRingConnection.h"

namespace smartvm::dom0::xenstore::test {
namespace {

class XsRingConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(dom0_.mkdir("/local/domain/3"), kOk);
    ASSERT_EQ(dom0_.setPerms("/local/domain/3", z("n3")), kOk);
  }
  xenstore_domain_interface* intf() { return reinterpret_cast<xenstore_domain_interface*>(page_.get()); }
  void guestSend(const std::string& bytes) {
    for (char ch : bytes) intf()->req[MASK_XENSTORE_IDX(intf()->req_prod++)] = ch;
  }
  std::string guestReceive(size_t max = SIZE_MAX) {
    std::string out;
    while (out.size() < max && intf()->rsp_cons != intf()->rsp_prod) {
      out.push_back(intf()->rsp[MASK_XENSTORE_IDX(intf()->rsp_cons++)]);
    }
    return out;
  }

  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  /// A zeroed page, as a fresh guest's ring is; built before the connection that advertises features in it.
  static char* zeroedPage() { return static_cast<char*>(std::memset(std::aligned_alloc(4096, 4096), 0, 4096)); }
  std::unique_ptr<char, Free> page_{zeroedPage()};
  int notifies_ = 0;
  XsServerCore core_;
  XsTestClient dom0_{core_, 0};
  XsRingConnection guest_{core_, 3, page_.get(), [this] { ++notifies_; }};
};

TEST_F(XsRingConnectionTest, AnswersRequestsWhenTheGuestKicks) {
  guestSend(XsMessage::encode(XS_WRITE, 1, 0, z("name") + "guest3"));
  EXPECT_TRUE(guestReceive().empty()) << "nothing happens before the kick";
  guest_.onGuestNotify();
  const auto replies = decode(guestReceive());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].payload, kOk);
  EXPECT_EQ(dom0_.read("/local/domain/3/name"), "guest3");
  EXPECT_GT(notifies_, 0);
  EXPECT_EQ(intf()->server_features, static_cast<uint32_t>(XENSTORE_SERVER_FEATURE_ERROR));
}

TEST_F(XsRingConnectionTest, WatchEventsArePushedWithoutAKick) {
  guestSend(XsMessage::encode(XS_WATCH, 1, 0, z("device") + z("tok")));
  guest_.onGuestNotify();
  ASSERT_EQ(decode(guestReceive()).size(), 2u) << "the reply and the registration event";
  const int before = notifies_;
  ASSERT_EQ(dom0_.write("/local/domain/3/device/vif/0", "x"), kOk);
  const auto events = decode(guestReceive());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].hdr.type, static_cast<uint32_t>(XS_WATCH_EVENT));
  EXPECT_EQ(events[0].payload, z("device/vif/0") + z("tok"));
  EXPECT_GT(notifies_, before);
}

TEST_F(XsRingConnectionTest, RepliesThatDoNotFitWaitForTheGuestToConsume) {
  ASSERT_EQ(dom0_.write("/local/domain/3/big", std::string(600, 'b')), kOk);
  for (uint32_t i = 0; i < 4; ++i) guestSend(XsMessage::encode(XS_READ, i, 0, z("big")));
  guest_.onGuestNotify();
  std::string got = guestReceive();
  EXPECT_EQ(got.size(), static_cast<size_t>(XENSTORE_RING_SIZE)) << "the ring is full";
  for (int kicks = 0; kicks < 5; ++kicks) {
    guest_.onGuestNotify();  // the guest consumed and kicks
    got += guestReceive();
  }
  const auto replies = decode(got);
  ASSERT_EQ(replies.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(replies[i].hdr.req_id, i);
    EXPECT_EQ(replies[i].payload, std::string(600, 'b'));
  }
}

TEST_F(XsRingConnectionTest, HostileIndexesCloseTheConnection) {
  guestSend(XsMessage::encode(XS_WATCH, 1, 0, z("device") + z("tok")));
  guest_.onGuestNotify();
  guestReceive();
  intf()->req_prod = intf()->req_cons + 3 * XENSTORE_RING_SIZE;
  guest_.onGuestNotify();
  EXPECT_TRUE(guest_.broken());
  EXPECT_TRUE(core_.connection(guest_.connectionId())->closed());
  EXPECT_EQ(intf()->error, static_cast<uint32_t>(XENSTORE_ERROR_RINGIDX));
  ASSERT_EQ(dom0_.write("/local/domain/3/device/x", "1"), kOk);
  EXPECT_TRUE(guestReceive().empty()) << "a closed connection hears no events";
  guest_.onGuestNotify();  // further kicks are ignored
}

TEST_F(XsRingConnectionTest, DestroyingTheConnectionForgetsItsWatches) {
  auto extra = std::make_unique<XsRingConnection>(core_, 3, page_.get(), nullptr);
  const uint64_t id = extra->connectionId();
  extra.reset();
  EXPECT_EQ(core_.connection(id), nullptr);
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
