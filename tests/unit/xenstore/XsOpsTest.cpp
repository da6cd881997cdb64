// Each tree operation over the wire: happy paths and Xen's error codes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "XsTestClient.h"

namespace smartvm::dom0::xenstore::test {
namespace {

class XsOpsTest : public ::testing::Test {
 protected:
  XsServerCore core_;
  XsTestClient dom0_{core_, 0};
};

TEST_F(XsOpsTest, WriteThenReadReturnsValueWithoutTerminator) {
  EXPECT_EQ(dom0_.write("/a/b", "value"), kOk);
  EXPECT_EQ(dom0_.read("/a/b"), "value");
  EXPECT_EQ(dom0_.read("/a"), "") << "the implicit parent exists with an empty value";
}

TEST_F(XsOpsTest, WriteKeepsBinaryAndEmptyValues) {
  EXPECT_EQ(dom0_.write("/bin", std::string("x\0y", 3)), kOk);
  EXPECT_EQ(dom0_.read("/bin"), std::string("x\0y", 3));
  EXPECT_EQ(dom0_.write("/bin", ""), kOk);
  EXPECT_EQ(dom0_.read("/bin"), "");
}

TEST_F(XsOpsTest, ReadMissingIsENOENT) { EXPECT_EQ(dom0_.read("/nope"), "E:ENOENT"); }

TEST_F(XsOpsTest, DirectoryListsChildrenNulSeparated) {
  ASSERT_EQ(dom0_.write("/d/y", "1"), kOk);
  ASSERT_EQ(dom0_.write("/d/x/deep", "2"), kOk);
  EXPECT_EQ(dom0_.dir("/d"), z("x") + z("y"));
  EXPECT_EQ(dom0_.dir("/d/y"), "");
  EXPECT_EQ(dom0_.dir("/missing"), "E:ENOENT");
}

TEST_F(XsOpsTest, MkdirCreatesEmptyNodeAndKeepsExisting) {
  EXPECT_EQ(dom0_.mkdir("/m/n"), kOk);
  EXPECT_EQ(dom0_.read("/m/n"), "");
  ASSERT_EQ(dom0_.write("/m/n", "keep"), kOk);
  EXPECT_EQ(dom0_.mkdir("/m/n"), kOk);
  EXPECT_EQ(dom0_.read("/m/n"), "keep");
}

TEST_F(XsOpsTest, RmRemovesWholeSubtree) {
  ASSERT_EQ(dom0_.write("/r/a/b", "1"), kOk);
  ASSERT_EQ(dom0_.write("/r/c", "2"), kOk);
  EXPECT_EQ(dom0_.rm("/r"), kOk);
  EXPECT_EQ(dom0_.read("/r/a/b"), "E:ENOENT");
  EXPECT_EQ(dom0_.read("/r"), "E:ENOENT");
  EXPECT_EQ(dom0_.dir("/"), "");
}

TEST_F(XsOpsTest, RmOfMissingNodeNeedsOnlyItsParent) {
  EXPECT_EQ(dom0_.rm("/ghost"), kOk);
  EXPECT_EQ(dom0_.rm("/ghost/child"), "E:ENOENT");
}

TEST_F(XsOpsTest, RmOfRootIsRefused) { EXPECT_EQ(dom0_.rm("/"), "E:EINVAL"); }

TEST_F(XsOpsTest, InvalidPathsAreEINVAL) {
  for (const std::string p : {"/a//b", "/a/", "/a b", "/a$", "/a\\b", "@releaseDomain"}) {
    EXPECT_EQ(dom0_.write(p, "v"), "E:EINVAL") << p;
  }
  EXPECT_EQ(dom0_.write("/" + std::string(XENSTORE_ABS_PATH_MAX, 'a'), "v"), "E:EINVAL");
  EXPECT_EQ(dom0_.write("/ok-_@AZaz09", "v"), kOk);
}

TEST_F(XsOpsTest, RelativePathsResolveAgainstTheDomainHome) {
  ASSERT_EQ(dom0_.mkdir("/local/domain/5"), kOk);
  ASSERT_EQ(dom0_.setPerms("/local/domain/5", z("n5")), kOk);
  XsTestClient guest(core_, 5);
  EXPECT_EQ(guest.write("device/vif", "up"), kOk);
  EXPECT_EQ(dom0_.read("/local/domain/5/device/vif"), "up");
  EXPECT_EQ(guest.read("device/vif"), "up");
  EXPECT_EQ(dom0_.write("rel", "v"), kOk) << "dom0's home is /local/domain/0";
  EXPECT_EQ(dom0_.read("/local/domain/0/rel"), "v");
}

TEST_F(XsOpsTest, GuestRelativePathLongerThanRelMaxIsEINVAL) {
  ASSERT_EQ(dom0_.mkdir("/local/domain/5"), kOk);
  ASSERT_EQ(dom0_.setPerms("/local/domain/5", z("n5")), kOk);
  XsTestClient guest(core_, 5);
  EXPECT_EQ(guest.write(std::string(XENSTORE_REL_PATH_MAX + 1, 'x'), "v"), "E:EINVAL");
  EXPECT_EQ(guest.write(std::string(XENSTORE_REL_PATH_MAX, 'x'), "v"), kOk);
}

TEST_F(XsOpsTest, GetAndSetPermsUseXensStringForm) {
  ASSERT_EQ(dom0_.write("/p", "v"), kOk);
  EXPECT_EQ(dom0_.perms("/p"), z("n0"));
  EXPECT_EQ(dom0_.setPerms("/p", z("r5") + z("b6") + z("n7")), kOk);
  EXPECT_EQ(dom0_.perms("/p"), z("r5") + z("b6") + z("n7"));
  EXPECT_EQ(dom0_.setPerms("/p", z("x5")), "E:EINVAL");
  EXPECT_EQ(dom0_.setPerms("/p", z("r")), "E:EINVAL");
  EXPECT_EQ(dom0_.setPerms("/p", z("r5x")), "E:EINVAL");
  EXPECT_EQ(dom0_.op(XS_SET_PERMS, z("/p")), "E:EINVAL") << "no permission at all";
  EXPECT_EQ(dom0_.setPerms("/missing", z("n0")), "E:ENOENT");
}

TEST_F(XsOpsTest, SpecialNodesHavePermissions) {
  EXPECT_EQ(dom0_.perms("@releaseDomain"), z("n0"));
  EXPECT_EQ(dom0_.setPerms("@releaseDomain", z("n0") + z("r5")), kOk);
  EXPECT_EQ(dom0_.perms("@releaseDomain"), z("n0") + z("r5"));
  EXPECT_EQ(dom0_.setPerms("@bogus", z("n0")), "E:ENOENT");
}

TEST_F(XsOpsTest, ChildrenInheritTheParentsPermissions) {
  ASSERT_EQ(dom0_.mkdir("/inh"), kOk);
  ASSERT_EQ(dom0_.setPerms("/inh", z("n0") + z("r5")), kOk);
  ASSERT_EQ(dom0_.write("/inh/x/y", "v"), kOk);
  EXPECT_EQ(dom0_.perms("/inh/x"), z("n0") + z("r5"));
  EXPECT_EQ(dom0_.perms("/inh/x/y"), z("n0") + z("r5"));
}

TEST_F(XsOpsTest, DomainPathAndIntroducedQueries) {
  EXPECT_EQ(dom0_.op(XS_GET_DOMAIN_PATH, z("7")), z("/local/domain/7"));
  EXPECT_EQ(dom0_.op(XS_GET_DOMAIN_PATH, z("x7")), "E:EINVAL");
  EXPECT_EQ(dom0_.op(XS_IS_DOMAIN_INTRODUCED, z("0")), z("T"));
  EXPECT_EQ(dom0_.op(XS_IS_DOMAIN_INTRODUCED, z("7")), z("F"));
}

TEST_F(XsOpsTest, IntroduceAndReleaseADomain) {
  std::vector<std::string> calls;
  core_.setDomainHooks({[&](uint32_t d, uint64_t mfn, uint32_t port) {
                          calls.push_back(fmt::format("intro {} {} {}", d, mfn, port));
                          return Status::ok();
                        },
                        [&](uint32_t d) { calls.push_back(fmt::format("release {}", d)); }});
  EXPECT_EQ(dom0_.op(XS_INTRODUCE, z("7") + z("4660") + z("3")), kOk);
  EXPECT_EQ(dom0_.op(XS_IS_DOMAIN_INTRODUCED, z("7")), z("T"));
  EXPECT_EQ(dom0_.op(XS_INTRODUCE, z("7") + z("4660") + z("3")), kOk) << "idempotent";
  EXPECT_EQ(dom0_.op(XS_RELEASE, z("7")), kOk);
  EXPECT_EQ(dom0_.op(XS_IS_DOMAIN_INTRODUCED, z("7")), z("F"));
  EXPECT_EQ(dom0_.op(XS_RELEASE, z("7")), "E:ENOENT");
  EXPECT_EQ(calls, (std::vector<std::string>{"intro 7 4660 3", "release 7"}));
}

TEST_F(XsOpsTest, IntroduceValidatesArguments) {
  EXPECT_EQ(dom0_.op(XS_INTRODUCE, z("7") + z("1")), "E:EINVAL");
  EXPECT_EQ(dom0_.op(XS_INTRODUCE, z("seven") + z("1") + z("3")), "E:EINVAL");
  EXPECT_EQ(dom0_.op(XS_INTRODUCE, z("0") + z("1") + z("3")), "E:EINVAL");
  EXPECT_EQ(dom0_.op(XS_INTRODUCE, z("32752") + z("1") + z("3")), "E:EINVAL") << "DOMID_FIRST_RESERVED";
}

TEST_F(XsOpsTest, FailedIntroduceHookLeavesDomainUnknown) {
  core_.setDomainHooks({[](uint32_t, uint64_t, uint32_t) { return error(EIO, "cannot map"); }, nullptr});
  EXPECT_EQ(dom0_.op(XS_INTRODUCE, z("7") + z("1") + z("3")), "E:EIO");
  EXPECT_EQ(dom0_.op(XS_IS_DOMAIN_INTRODUCED, z("7")), z("F"));
}

TEST_F(XsOpsTest, ReleaseClosesTheDomainsConnections) {
  XsTestClient guest(core_, 7);
  ASSERT_EQ(dom0_.op(XS_INTRODUCE, z("7") + z("1") + z("3")), kOk);
  ASSERT_EQ(dom0_.op(XS_RELEASE, z("7")), kOk);
  EXPECT_TRUE(guest.conn().closed());
  EXPECT_FALSE(dom0_.conn().closed());
}

TEST_F(XsOpsTest, UnimplementedTypesAreENOSYS) {
  EXPECT_EQ(dom0_.op(XS_RESUME, z("1")), "E:ENOSYS");
  EXPECT_EQ(dom0_.op(XS_CONTROL, z("print")), "E:ENOSYS");
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
