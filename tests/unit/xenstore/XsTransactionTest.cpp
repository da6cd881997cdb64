// Transactions: isolation, commit, abort, and EAGAIN when what a transaction
// read or wrote changed before it committed.
#include <gtest/gtest.h>

#include "XsTestClient.h"

namespace smartvm::dom0::xenstore::test {
namespace {

class XsTransactionTest : public ::testing::Test {
 protected:
  XsServerCore core_;
  XsTestClient a_{core_, 0};
  XsTestClient b_{core_, 0};
};

TEST_F(XsTransactionTest, WritesBecomeVisibleOnCommitOnly) {
  const uint32_t tx = a_.start();
  EXPECT_NE(tx, 0u);
  EXPECT_EQ(a_.write("/t/a", "1", tx), kOk);
  EXPECT_EQ(a_.read("/t/a", tx), "1");
  EXPECT_EQ(a_.op(XS_DIRECTORY, z("/t"), tx), z("a"));
  EXPECT_EQ(b_.read("/t/a"), "E:ENOENT");
  EXPECT_EQ(a_.end(tx, true), kOk);
  EXPECT_EQ(b_.read("/t/a"), "1");
}

TEST_F(XsTransactionTest, AbortDiscardsEverything) {
  ASSERT_EQ(a_.write("/keep", "old"), kOk);
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.write("/keep", "new", tx), kOk);
  EXPECT_EQ(a_.rm("/keep", tx), kOk);
  EXPECT_EQ(a_.end(tx, false), kOk);
  EXPECT_EQ(a_.read("/keep"), "old");
  EXPECT_EQ(a_.end(tx, true), "E:ENOENT") << "the transaction is gone";
}

TEST_F(XsTransactionTest, ReadThenOutsideWriteIsEAGAIN) {
  ASSERT_EQ(a_.write("/c", "1"), kOk);
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.read("/c", tx), "1");
  ASSERT_EQ(b_.write("/c", "2"), kOk);
  EXPECT_EQ(a_.write("/d", "x", tx), kOk);
  EXPECT_EQ(a_.end(tx, true), "E:EAGAIN");
  EXPECT_EQ(b_.read("/d"), "E:ENOENT") << "a conflicted transaction changes nothing";
  EXPECT_EQ(a_.end(tx, true), "E:ENOENT");
}

TEST_F(XsTransactionTest, ConcurrentCreationOfTheSameNodeIsEAGAIN) {
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.write("/same", "a", tx), kOk);
  ASSERT_EQ(b_.write("/same", "b"), kOk);
  EXPECT_EQ(a_.end(tx, true), "E:EAGAIN");
  EXPECT_EQ(b_.read("/same"), "b");
}

TEST_F(XsTransactionTest, RemovalOfAReadNodeIsEAGAIN) {
  ASSERT_EQ(a_.write("/gone", "1"), kOk);
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.read("/gone", tx), "1");
  ASSERT_EQ(b_.rm("/gone"), kOk);
  EXPECT_EQ(a_.end(tx, true), "E:EAGAIN");
}

TEST_F(XsTransactionTest, UnrelatedChangesDoNotConflict) {
  ASSERT_EQ(a_.write("/x/one", "1"), kOk);
  ASSERT_EQ(a_.write("/y/two", "2"), kOk);
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.read("/x/one", tx), "1");
  ASSERT_EQ(b_.write("/y/two", "3"), kOk);
  EXPECT_EQ(a_.write("/x/one", "4", tx), kOk);
  EXPECT_EQ(a_.end(tx, true), kOk);
  EXPECT_EQ(b_.read("/x/one"), "4");
}

TEST_F(XsTransactionTest, TwoTransactionsRacingOneLoses) {
  ASSERT_EQ(a_.write("/ctr", "0"), kOk);
  const uint32_t t1 = a_.start();
  const uint32_t t2 = b_.start();
  EXPECT_EQ(a_.write("/ctr", std::to_string(std::stoi(a_.read("/ctr", t1)) + 1), t1), kOk);
  EXPECT_EQ(b_.write("/ctr", std::to_string(std::stoi(b_.read("/ctr", t2)) + 1), t2), kOk);
  EXPECT_EQ(a_.end(t1, true), kOk);
  EXPECT_EQ(b_.end(t2, true), "E:EAGAIN");
  EXPECT_EQ(a_.read("/ctr"), "1");
}

TEST_F(XsTransactionTest, RmOfSubtreeInsideATransaction) {
  ASSERT_EQ(a_.write("/sub/a/b", "1"), kOk);
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.rm("/sub", tx), kOk);
  EXPECT_EQ(a_.read("/sub/a/b", tx), "E:ENOENT");
  EXPECT_EQ(b_.read("/sub/a/b"), "1");
  EXPECT_EQ(a_.end(tx, true), kOk);
  EXPECT_EQ(b_.read("/sub/a/b"), "E:ENOENT");
  EXPECT_EQ(b_.read("/sub"), "E:ENOENT");
}

TEST_F(XsTransactionTest, UnknownOrForeignTransactionIsENOENT) {
  EXPECT_EQ(a_.read("/", 999), "E:ENOENT");
  const uint32_t tx = a_.start();
  EXPECT_EQ(b_.read("/", tx), "E:ENOENT") << "transactions belong to their connection";
  EXPECT_EQ(a_.end(0, true), "E:ENOENT");
}

TEST_F(XsTransactionTest, StartInsideATransactionIsEBUSY) {
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.op(XS_TRANSACTION_START, z(""), tx), "E:EBUSY");
}

TEST_F(XsTransactionTest, EndNeedsTOrF) {
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.op(XS_TRANSACTION_END, z("X"), tx), "E:EINVAL");
  EXPECT_EQ(a_.op(XS_TRANSACTION_END, "T", tx), "E:EINVAL") << "missing NUL";
  EXPECT_EQ(a_.end(tx, true), kOk);
}

TEST_F(XsTransactionTest, ClosingTheConnectionDropsItsTransactions) {
  a_.start();
  a_.start();
  EXPECT_EQ(core_.db().transactionCount(a_.conn().id()), 2u);
  core_.removeConnection(b_.conn().id());
  EXPECT_EQ(core_.db().transactionCount(a_.conn().id()), 2u);
  EXPECT_EQ(a_.op(XS_RESET_WATCHES, ""), kOk);
  EXPECT_EQ(core_.db().transactionCount(a_.conn().id()), 0u) << "RESET_WATCHES also ends transactions";
}

TEST_F(XsTransactionTest, WatchEventsWaitForTheCommit) {
  ASSERT_EQ(b_.watch("/w", "t"), kOk);
  EXPECT_EQ(b_.events(), (std::vector<std::string>{"/w|t"}));
  const uint32_t tx = a_.start();
  EXPECT_EQ(a_.write("/w/x", "1", tx), kOk);
  EXPECT_TRUE(b_.events().empty());
  EXPECT_EQ(a_.end(tx, true), kOk);
  EXPECT_EQ(b_.events(), (std::vector<std::string>{"/w/x|t"}));
  const uint32_t aborted = a_.start();
  EXPECT_EQ(a_.write("/w/y", "1", aborted), kOk);
  EXPECT_EQ(a_.end(aborted, false), kOk);
  EXPECT_TRUE(b_.events().empty());
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
