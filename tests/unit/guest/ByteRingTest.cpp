// ByteRing: the producer/consumer arithmetic the console and xenstore rings
// share, on a real xencons_interface / xenstore_domain_interface in memory,
// including index wrap-around and a peer that writes nonsense indexes.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

#include "lib/ByteRing.h"

namespace {

struct ConsolePage {
  uint8_t guardBefore[64];
  xencons_interface intf;
  uint8_t guardAfter[64];
};

class ByteRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::memset(&page_, 0xAA, sizeof(page_));
    std::memset(&page_.intf, 0, sizeof(page_.intf));
  }
  ByteRing out() { return ByteRing(page_.intf.out, sizeof(page_.intf.out), &page_.intf.out_prod, &page_.intf.out_cons); }
  ByteRing in() { return ByteRing(page_.intf.in, sizeof(page_.intf.in), &page_.intf.in_prod, &page_.intf.in_cons); }
  // The back end's side of `out`: what xenconsoled would take.
  std::string drainOut() {
    return drain(page_.intf.out, sizeof(page_.intf.out), page_.intf.out_prod, page_.intf.out_cons);
  }
  static std::string drain(const char* buf, uint32_t size, uint32_t prod, uint32_t& cons) {
    std::string s;
    for (; cons != prod; ++cons) s.push_back(buf[cons & (size - 1)]);
    return s;
  }
  bool guardsIntact() const {
    for (uint8_t b : page_.guardBefore)
      if (b != 0xAA) return false;
    for (uint8_t b : page_.guardAfter)
      if (b != 0xAA) return false;
    return true;
  }
  ConsolePage page_;
};

TEST_F(ByteRingTest, WriteThenDrainGivesTheBytesBack) {
  EXPECT_EQ(out().write("hello\n", 6), 6);
  EXPECT_EQ(page_.intf.out_prod, 6u);
  EXPECT_EQ(out().used(), 6);
  EXPECT_EQ(out().space(), 2048 - 6);
  EXPECT_EQ(drainOut(), "hello\n");
  EXPECT_EQ(out().used(), 0);
}

TEST_F(ByteRingTest, FullRingTakesOnlyWhatFits) {
  std::vector<char> big(3000, 'x');
  EXPECT_EQ(out().write(big.data(), big.size()), 2048);
  EXPECT_EQ(out().space(), 0);
  EXPECT_EQ(out().write("y", 1), 0);  // full: nothing, not an error
  EXPECT_EQ(drainOut().size(), 2048u);
  EXPECT_EQ(out().write("y", 1), 1);
  EXPECT_TRUE(guardsIntact());
}

TEST_F(ByteRingTest, WrapsAroundTheBufferEnd) {
  page_.intf.out_prod = page_.intf.out_cons = 2040;
  const std::string text = "0123456789abcdef";
  EXPECT_EQ(out().write(text.data(), text.size()), 16);
  EXPECT_EQ(page_.intf.out[2047], '7');
  EXPECT_EQ(page_.intf.out[0], '8');
  EXPECT_EQ(drainOut(), text);
  EXPECT_TRUE(guardsIntact());
}

TEST_F(ByteRingTest, IndexesWrapAt32Bits) {
  page_.intf.out_prod = page_.intf.out_cons = UINT32_MAX - 3;
  EXPECT_EQ(out().write("abcdefgh", 8), 8);
  EXPECT_EQ(page_.intf.out_prod, 4u);  // wrapped
  EXPECT_EQ(out().used(), 8);
  EXPECT_EQ(drainOut(), "abcdefgh");
}

TEST_F(ByteRingTest, ConsumerAheadOfProducerIsBroken) {
  page_.intf.out_prod = 10;
  page_.intf.out_cons = 20;  // the back end claims to have read unwritten bytes
  EXPECT_EQ(out().write("abc", 3), -1);
  EXPECT_EQ(out().used(), -1);
  EXPECT_EQ(out().space(), -1);
  EXPECT_EQ(page_.intf.out_prod, 10u);  // untouched
  EXPECT_TRUE(guardsIntact());
}

TEST_F(ByteRingTest, ProducerMoreThanARingAheadIsBroken) {
  page_.intf.in_prod = 5000;  // the back end claims 5000 bytes in a 1024-byte ring
  page_.intf.in_cons = 0;
  char buf[4096];
  EXPECT_EQ(in().read(buf, sizeof(buf)), -1);
  EXPECT_EQ(page_.intf.in_cons, 0u);
  EXPECT_TRUE(guardsIntact());
}

TEST_F(ByteRingTest, ReadTakesInputAndReleasesIt) {
  const std::string text = "line one\r";
  for (size_t i = 0; i < text.size(); ++i) page_.intf.in[(1020 + i) & 1023] = text[i];
  page_.intf.in_cons = 1020;
  page_.intf.in_prod = 1020 + static_cast<uint32_t>(text.size());
  char buf[4] = {};
  EXPECT_EQ(in().read(buf, 4), 4);  // partial reads are fine
  EXPECT_EQ(std::string(buf, 4), "line");
  char rest[32] = {};
  EXPECT_EQ(in().read(rest, sizeof(rest)), 5);
  EXPECT_EQ(std::string(rest, 5), " one\r");
  EXPECT_EQ(page_.intf.in_cons, page_.intf.in_prod);
  EXPECT_EQ(in().read(rest, sizeof(rest)), 0);
}

TEST(ByteRingXenstore, RequestRingOfTheStorePage) {
  xenstore_domain_interface intf{};
  ByteRing req(intf.req, XENSTORE_RING_SIZE, &intf.req_prod, &intf.req_cons);
  ByteRing rsp(intf.rsp, XENSTORE_RING_SIZE, &intf.rsp_prod, &intf.rsp_cons);
  std::vector<char> msg(1500, 'm');
  EXPECT_EQ(req.write(msg.data(), msg.size()), XENSTORE_RING_SIZE);  // the rest waits for room
  intf.req_cons += 600;                                              // the daemon took some
  EXPECT_EQ(req.write(msg.data(), 476), 476);
  EXPECT_EQ(intf.req_prod, 1500u);
  EXPECT_EQ(rsp.used(), 0);
}

}  // namespace
