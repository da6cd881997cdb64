// What an unprivileged domain may and may not do (Xen's perm_for_conn rules).
#include <gtest/gtest.h>

#include "XsTestClient.h"

namespace smartvm::dom0::xenstore::test {
namespace {

class XsPermsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(dom0_.write("/secret/key", "v"), kOk);
    ASSERT_EQ(dom0_.mkdir("/local/domain/5"), kOk);
    ASSERT_EQ(dom0_.setPerms("/local/domain/5", z("n0") + z("b5")), kOk);
  }
  XsServerCore core_;
  XsTestClient dom0_{core_, 0};
  XsTestClient guest_{core_, 5};
};

TEST_F(XsPermsTest, GuestIsRefusedOnDom0Nodes) {
  EXPECT_EQ(guest_.read("/secret/key"), "E:EACCES");
  EXPECT_EQ(guest_.write("/secret/key", "x"), "E:EACCES");
  EXPECT_EQ(guest_.dir("/secret"), "E:EACCES");
  EXPECT_EQ(guest_.perms("/secret"), "E:EACCES");
  EXPECT_EQ(guest_.rm("/secret"), "E:EACCES");
  EXPECT_EQ(guest_.mkdir("/secret/new"), "E:EACCES");
  EXPECT_EQ(guest_.setPerms("/secret", z("b5")), "E:EACCES");
  EXPECT_EQ(dom0_.read("/secret/key"), "v") << "nothing changed";
}

TEST_F(XsPermsTest, MissingNodeUnderUnreadableParentIsEACCESNotENOENT) {
  EXPECT_EQ(guest_.read("/secret/none"), "E:EACCES");
  EXPECT_EQ(guest_.read("/local/domain/5/none"), "E:ENOENT");
}

TEST_F(XsPermsTest, PerDomainEntriesGrantOnlyTheirAccess) {
  ASSERT_EQ(dom0_.setPerms("/secret/key", z("n0") + z("r5")), kOk);
  EXPECT_EQ(guest_.read("/secret/key"), "v");
  EXPECT_EQ(guest_.write("/secret/key", "x"), "E:EACCES");
  XsTestClient other(core_, 6);
  EXPECT_EQ(other.read("/secret/key"), "E:EACCES");
}

TEST_F(XsPermsTest, FirstEntryIsTheDefaultForUnlistedDomains) {
  ASSERT_EQ(dom0_.setPerms("/secret/key", z("r0") + z("n5")), kOk);
  XsTestClient other(core_, 6);
  EXPECT_EQ(other.read("/secret/key"), "v");
  EXPECT_EQ(guest_.read("/secret/key"), "E:EACCES");
}

TEST_F(XsPermsTest, OwnerBypassesTheList) {
  ASSERT_EQ(dom0_.setPerms("/secret/key", z("n5")), kOk);
  EXPECT_EQ(guest_.read("/secret/key"), "v");
  EXPECT_EQ(guest_.write("/secret/key", "mine"), kOk);
}

TEST_F(XsPermsTest, GuestOwnsWhatItCreates) {
  ASSERT_EQ(guest_.write("data/x", "1"), kOk);
  EXPECT_EQ(dom0_.perms("/local/domain/5/data"), z("n5") + z("b5"));
  EXPECT_EQ(dom0_.perms("/local/domain/5/data/x"), z("n5") + z("b5"));
  ASSERT_EQ(dom0_.write("/local/domain/5/tool", "1"), kOk);
  EXPECT_EQ(dom0_.perms("/local/domain/5/tool"), z("n0") + z("b5")) << "dom0 keeps the inherited owner";
}

TEST_F(XsPermsTest, OnlyTheOwnerSetsPermsAndOnlyDom0ChangesOwners) {
  EXPECT_EQ(guest_.setPerms("/local/domain/5", z("n0") + z("b5") + z("r6")), "E:EACCES") << "write is not owner";
  ASSERT_EQ(guest_.write("mine", "1"), kOk);
  EXPECT_EQ(guest_.setPerms("mine", z("n5") + z("r6")), kOk);
  EXPECT_EQ(guest_.setPerms("mine", z("n6")), "E:EPERM");
}

TEST_F(XsPermsTest, GuestCannotIntroduceOrRelease) {
  EXPECT_EQ(guest_.op(XS_INTRODUCE, z("9") + z("1") + z("3")), "E:EACCES");
  EXPECT_EQ(guest_.op(XS_RELEASE, z("9")), "E:EACCES");
  EXPECT_EQ(guest_.setPerms("@releaseDomain", z("r5")), "E:EACCES");
  EXPECT_EQ(guest_.perms("@releaseDomain"), "E:EACCES");
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
