// The console ring's back end on a page in memory: output drained in order
// across the wrap, input limited to the room the guest left, and bogus
// indexes from the guest ignored without reading or writing off the ring.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "smartvm/hv/devices/XenConsoleRing.h"

namespace smartvm::hv {
namespace {

class XenConsoleRingTest : public ::testing::Test {
 protected:
  void guestWrites(const std::string& s) {
    for (char c : s) page.out[MASK_XENCONS_IDX(page.out_prod++, page.out)] = c;
  }
  std::string guestReads() {
    std::string s;
    while (page.in_cons != page.in_prod) s.push_back(page.in[MASK_XENCONS_IDX(page.in_cons++, page.in)]);
    return s;
  }
  xencons_interface page{};
  XenConsoleRing ring{&page};
};

TEST_F(XenConsoleRingTest, DrainsOutputInOrderAcrossTheWrap) {
  page.out_cons = page.out_prod = 2040;  // 8 bytes before the end of `out`
  guestWrites("hello, console\n");
  std::string got;
  EXPECT_EQ(ring.drainOutput(got), 15u);
  EXPECT_EQ(got, "hello, console\n");
  EXPECT_EQ(page.out_cons, page.out_prod);
  EXPECT_EQ(ring.drainOutput(got), 0u) << "nothing new";
}

TEST_F(XenConsoleRingTest, IndexesWrapAroundTheirIntegerRange) {
  page.out_cons = page.out_prod = 0xFFFFFFFCu;
  guestWrites("wrap!");
  std::string got;
  EXPECT_EQ(ring.drainOutput(got), 5u);
  EXPECT_EQ(got, "wrap!");
  EXPECT_EQ(page.out_cons, 1u);
}

TEST_F(XenConsoleRingTest, BogusProducerIsIgnoredAndTheRingLeftAlone) {
  page.out_cons = 10;
  page.out_prod = 10 + 2049;  // more than the ring holds
  std::string got;
  EXPECT_EQ(ring.drainOutput(got), 0u);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(page.out_cons, 10u) << "not consumed";
  EXPECT_EQ(ring.bogusIndexes(), 1u);
  page.out_prod = 10 + 3;  // the guest recovers
  EXPECT_EQ(ring.drainOutput(got), 3u);
}

TEST_F(XenConsoleRingTest, InputFillsOnlyTheRoomTheGuestLeft) {
  std::string big(1500, 'k');
  EXPECT_EQ(ring.pushInput(big.data(), big.size()), 1024u) << "the in ring holds 1024";
  EXPECT_EQ(ring.pushInput("x", 1), 0u) << "full";
  EXPECT_EQ(guestReads(), std::string(1024, 'k'));
  EXPECT_EQ(ring.pushInput("ls\n", 3), 3u);
  EXPECT_EQ(guestReads(), "ls\n");
}

TEST_F(XenConsoleRingTest, BogusInputConsumerAcceptsNothing) {
  page.in_prod = 100;
  page.in_cons = 5000;  // "consumed" past what was produced
  EXPECT_EQ(ring.pushInput("abc", 3), 0u);
  EXPECT_EQ(page.in_prod, 100u);
}

}  // namespace
}  // namespace smartvm::hv
