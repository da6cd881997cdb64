// Watches: the registration event, which changes fire them, who hears them.
#include <gtest/gtest.h>

#include "XsTestClient.h"

namespace smartvm::dom0::xenstore::test {
namespace {

using Events = std::vector<std::string>;

class XsWatchTest : public ::testing::Test {
 protected:
  XsServerCore core_;
  XsTestClient dom0_{core_, 0};
  XsTestClient watcher_{core_, 0};
};

TEST_F(XsWatchTest, RegistrationRepliesThenFiresOnce) {
  const XsMessage reply = watcher_.call(XS_WATCH, z("/a") + z("tok"));
  EXPECT_EQ(reply.hdr.type, static_cast<uint32_t>(XS_WATCH));
  EXPECT_EQ(reply.payload, kOk);
  EXPECT_EQ(watcher_.events(), Events{"/a|tok"}) << "fires even though /a does not exist";
  EXPECT_TRUE(watcher_.events().empty());
}

TEST_F(XsWatchTest, FiresForTheNodeAndEverythingBelow) {
  ASSERT_EQ(watcher_.watch("/w", "t"), kOk);
  watcher_.events();
  ASSERT_EQ(dom0_.write("/w", "1"), kOk);
  ASSERT_EQ(dom0_.write("/w/x/y", "2"), kOk);
  ASSERT_EQ(dom0_.write("/wx", "3"), kOk);  // a sibling with the same prefix is not below /w
  ASSERT_EQ(dom0_.write("/other", "4"), kOk);
  EXPECT_EQ(watcher_.events(), (Events{"/w|t", "/w/x/y|t"}));
}

TEST_F(XsWatchTest, FiresOnMkdirRmAndSetPerms) {
  ASSERT_EQ(watcher_.watch("/m", "t"), kOk);
  watcher_.events();
  ASSERT_EQ(dom0_.mkdir("/m/d"), kOk);
  ASSERT_EQ(dom0_.mkdir("/m/d"), kOk);  // nothing created, nothing fired
  ASSERT_EQ(dom0_.setPerms("/m/d", z("n0") + z("r3")), kOk);
  ASSERT_EQ(dom0_.rm("/m/d"), kOk);
  EXPECT_EQ(watcher_.events(), (Events{"/m/d|t", "/m/d|t", "/m/d|t"}));
}

TEST_F(XsWatchTest, RmOfASubtreeFiresWatchesInsideIt) {
  ASSERT_EQ(dom0_.write("/s/a/b", "1"), kOk);
  ASSERT_EQ(watcher_.watch("/s/a/b", "inner"), kOk);
  ASSERT_EQ(watcher_.watch("/", "root"), kOk);
  watcher_.events();
  ASSERT_EQ(dom0_.rm("/s"), kOk);
  EXPECT_EQ(watcher_.events(), (Events{"/s|root", "/s/a/b|inner"}));
}

TEST_F(XsWatchTest, RmOfAChildFiresTheParentsWatch) {
  ASSERT_EQ(dom0_.write("/p/c/g", "1"), kOk);
  ASSERT_EQ(watcher_.watch("/p", "t"), kOk);
  watcher_.events();
  ASSERT_EQ(dom0_.rm("/p/c"), kOk);
  EXPECT_EQ(watcher_.events(), Events{"/p/c|t"}) << "one event for the removed subtree's root";
  ASSERT_EQ(dom0_.rm("/p/c"), kOk);
  EXPECT_TRUE(watcher_.events().empty()) << "removing nothing fires nothing";
}

TEST_F(XsWatchTest, DuplicateAndUnknownWatches) {
  ASSERT_EQ(watcher_.watch("/d", "t"), kOk);
  EXPECT_EQ(watcher_.watch("/d", "t"), "E:EEXIST");
  EXPECT_EQ(watcher_.watch("/d", "t2"), kOk) << "another token is another watch";
  EXPECT_EQ(watcher_.unwatch("/d", "nope"), "E:ENOENT");
  EXPECT_EQ(watcher_.unwatch("/d", "t"), kOk);
  EXPECT_EQ(watcher_.unwatch("/d", "t"), "E:ENOENT");
  EXPECT_EQ(watcher_.watch("/bad//path", "t"), "E:EINVAL");
  EXPECT_EQ(watcher_.op(XS_WATCH, z("/only-path")), "E:EINVAL");
}

TEST_F(XsWatchTest, UnwatchAndResetStopEvents) {
  ASSERT_EQ(watcher_.watch("/u", "1"), kOk);
  ASSERT_EQ(watcher_.watch("/v", "2"), kOk);
  watcher_.events();
  ASSERT_EQ(watcher_.unwatch("/u", "1"), kOk);
  ASSERT_EQ(dom0_.write("/u", "x"), kOk);
  ASSERT_EQ(dom0_.write("/v", "x"), kOk);
  EXPECT_EQ(watcher_.events(), Events{"/v|2"});
  ASSERT_EQ(watcher_.op(XS_RESET_WATCHES, ""), kOk);
  ASSERT_EQ(dom0_.write("/v", "y"), kOk);
  EXPECT_TRUE(watcher_.events().empty());
}

TEST_F(XsWatchTest, RelativeWatchesHearRelativePaths) {
  ASSERT_EQ(dom0_.mkdir("/local/domain/5"), kOk);
  ASSERT_EQ(dom0_.setPerms("/local/domain/5", z("n5")), kOk);
  XsTestClient guest(core_, 5);
  ASSERT_EQ(guest.watch("device", "t"), kOk);
  EXPECT_EQ(guest.events(), Events{"device|t"});
  ASSERT_EQ(dom0_.write("/local/domain/5/device/vbd", "1"), kOk);
  EXPECT_EQ(guest.events(), Events{"device/vbd|t"});
  EXPECT_EQ(guest.unwatch("/local/domain/5/device", "t"), kOk) << "same node, however it is named";
}

TEST_F(XsWatchTest, OnlyReadersHearEvents) {
  ASSERT_EQ(dom0_.mkdir("/priv"), kOk);
  XsTestClient guest(core_, 5);
  ASSERT_EQ(guest.watch("/priv", "t"), kOk);
  EXPECT_EQ(guest.events(), Events{"/priv|t"});
  ASSERT_EQ(dom0_.write("/priv/x", "1"), kOk);
  EXPECT_TRUE(guest.events().empty()) << "n0: domain 5 may not read /priv/x";
  ASSERT_EQ(dom0_.setPerms("/priv/x", z("n0") + z("r5")), kOk);
  ASSERT_EQ(dom0_.write("/priv/x", "2"), kOk);
  EXPECT_EQ(guest.events(), (Events{"/priv/x|t", "/priv/x|t"}));
}

TEST_F(XsWatchTest, WatchersWhoLoseAccessHearThePermissionChange) {
  ASSERT_EQ(dom0_.write("/shared", "1"), kOk);
  ASSERT_EQ(dom0_.setPerms("/shared", z("n0") + z("r5")), kOk);
  XsTestClient guest(core_, 5);
  ASSERT_EQ(guest.watch("/shared", "t"), kOk);
  guest.events();
  ASSERT_EQ(dom0_.setPerms("/shared", z("n0")), kOk);
  EXPECT_EQ(guest.events(), Events{"/shared|t"});
  ASSERT_EQ(dom0_.write("/shared", "2"), kOk);
  EXPECT_TRUE(guest.events().empty());
}

TEST_F(XsWatchTest, IntroduceAndReleaseFireSpecialWatches) {
  ASSERT_EQ(watcher_.watch("@introduceDomain", "in"), kOk);
  ASSERT_EQ(watcher_.watch("@releaseDomain", "out"), kOk);
  EXPECT_EQ(watcher_.events(), (Events{"@introduceDomain|in", "@releaseDomain|out"}));
  ASSERT_EQ(dom0_.op(XS_INTRODUCE, z("4") + z("1") + z("2")), kOk);
  EXPECT_EQ(watcher_.events(), Events{"@introduceDomain|in"});
  ASSERT_EQ(dom0_.op(XS_RELEASE, z("4")), kOk);
  EXPECT_EQ(watcher_.events(), Events{"@releaseDomain|out"});
  ASSERT_EQ(dom0_.write("/anything", "1"), kOk);
  EXPECT_TRUE(watcher_.events().empty()) << "special watches hear nothing of the tree";
}

TEST_F(XsWatchTest, GuestsHearSpecialEventsOnlyWhenAllowed) {
  XsTestClient guest(core_, 5);
  ASSERT_EQ(guest.watch("@releaseDomain", "t"), kOk);
  guest.events();
  ASSERT_EQ(dom0_.op(XS_INTRODUCE, z("4") + z("1") + z("2")), kOk);
  ASSERT_EQ(dom0_.op(XS_RELEASE, z("4")), kOk);
  EXPECT_TRUE(guest.events().empty());
  ASSERT_EQ(dom0_.setPerms("@releaseDomain", z("n0") + z("r5")), kOk);
  ASSERT_EQ(dom0_.op(XS_INTRODUCE, z("4") + z("1") + z("2")), kOk);
  ASSERT_EQ(dom0_.op(XS_RELEASE, z("4")), kOk);
  EXPECT_EQ(guest.events(), Events{"@releaseDomain|t"});
}

TEST_F(XsWatchTest, EventsForAClientThatNeverReadsAreDroppedPastTheLimit) {
  ASSERT_EQ(watcher_.watch("/flood", "t"), kOk);
  const size_t eventSize = sizeof(xsd_sockmsg) + z("/flood/x").size() + z("t").size();
  const size_t writes = XsServerCore::kMaxQueuedBytes / eventSize + 100;
  for (size_t i = 0; i < writes; ++i) ASSERT_EQ(dom0_.write("/flood/x", "1"), kOk);
  EXPECT_LE(watcher_.conn().queuedBytes(), XsServerCore::kMaxQueuedBytes + eventSize);
  EXPECT_GT(watcher_.conn().queuedBytes(), XsServerCore::kMaxQueuedBytes / 2);
}

TEST_F(XsWatchTest, ClosedConnectionsLoseTheirWatches) {
  ASSERT_EQ(watcher_.watch("/gone", "t"), kOk);
  core_.removeConnection(watcher_.conn().id());
  ASSERT_EQ(dom0_.write("/gone", "1"), kOk);  // must not touch the removed connection
  EXPECT_EQ(dom0_.read("/gone"), "1");
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
