// Per-domain quotas bind guests, never dom0, and fail with xenstored's errors.
#include <gtest/gtest.h>

#include "XsTestClient.h"

namespace smartvm::dom0::xenstore::test {
namespace {

XsQuota smallQuota() {
  XsQuota q;
  q.nodesPerDomain = 3;
  q.valueSize = 8;
  q.watchesPerDomain = 2;
  q.transactionsPerConn = 2;
  return q;
}

class XsQuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(dom0_.mkdir("/local/domain/5"), kOk);
    ASSERT_EQ(dom0_.setPerms("/local/domain/5", z("n5")), kOk);  // the guest now owns 1 node
  }
  XsServerCore core_{smallQuota()};
  XsTestClient dom0_{core_, 0};
  XsTestClient guest_{core_, 5};
};

TEST_F(XsQuotaTest, NodeQuotaIsENOSPC) {
  EXPECT_EQ(guest_.write("a", "1"), kOk);
  EXPECT_EQ(guest_.write("b", "1"), kOk);
  EXPECT_EQ(guest_.write("c", "1"), "E:ENOSPC");
  EXPECT_EQ(guest_.write("a/deeper", "1"), "E:ENOSPC");
  EXPECT_EQ(guest_.write("a", "overwrite"), "E:ENOSPC") << "value quota, not node quota";
  EXPECT_EQ(guest_.write("a", "ok"), kOk) << "overwriting needs no new node";
  EXPECT_EQ(core_.db().nodesOwnedBy(5), 3u);
  EXPECT_EQ(guest_.rm("b"), kOk);
  EXPECT_EQ(guest_.write("c", "1"), kOk) << "removal gives the quota back";
}

TEST_F(XsQuotaTest, ImplicitParentsCountAgainstTheQuota) {
  EXPECT_EQ(guest_.write("x/y/z", "1"), "E:ENOSPC");
  EXPECT_EQ(guest_.read("x"), "E:ENOENT") << "nothing half-created";
}

TEST_F(XsQuotaTest, ValueSizeQuotaIsENOSPC) {
  EXPECT_EQ(guest_.write("v", "12345678"), kOk);
  EXPECT_EQ(guest_.write("v", "123456789"), "E:ENOSPC");
  EXPECT_EQ(dom0_.write("/big", std::string(100, 'x')), kOk) << "dom0 is exempt";
}

TEST_F(XsQuotaTest, WatchQuotaIsE2BIG) {
  EXPECT_EQ(guest_.watch("a", "1"), kOk);
  EXPECT_EQ(guest_.watch("b", "2"), kOk);
  EXPECT_EQ(guest_.watch("c", "3"), "E:E2BIG");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(dom0_.watch("/w", std::to_string(i)), kOk);
}

TEST_F(XsQuotaTest, TransactionQuotaIsENOSPC) {
  guest_.start();
  guest_.start();
  EXPECT_EQ(guest_.op(XS_TRANSACTION_START, z("")), "E:ENOSPC");
  for (int i = 0; i < 5; ++i) dom0_.start();
}

TEST_F(XsQuotaTest, Dom0IsExemptFromTheNodeQuota) {
  for (int i = 0; i < 10; ++i) EXPECT_EQ(dom0_.write("/n/" + std::to_string(i), "1"), kOk);
}

TEST_F(XsQuotaTest, NodeQuotaCountsInsideTransactions) {
  const uint32_t tx = guest_.start();
  EXPECT_EQ(guest_.write("a", "1", tx), kOk);
  EXPECT_EQ(guest_.write("b", "1", tx), kOk);
  EXPECT_EQ(guest_.write("c", "1", tx), "E:ENOSPC");
  EXPECT_EQ(guest_.end(tx, true), kOk);
  EXPECT_EQ(core_.db().nodesOwnedBy(5), 3u);
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
