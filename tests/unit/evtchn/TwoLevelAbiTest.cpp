// TwoLevelAbi against Xen's event_2l.c rules, bit for bit.
#include <random>
#include <vector>

#include "EvtchnTestUtil.h"

namespace smartvm::evtchn::test {
namespace {

class TwoLevelAbiTest : public ::testing::Test {
 protected:
  TwoLevelAbiTest() { std::memset(page_.get(), 0, sizeof(shared_info_t)); }
  Bits bits() { return readBits(*page_); }

  std::unique_ptr<shared_info_t> page_ = std::make_unique<shared_info_t>();
  TwoLevelAbi abi_{[this] { return page_.get(); }};
};

TEST_F(TwoLevelAbiTest, LimitIs4096PortsOn64Bit) {
  EXPECT_EQ(abi_.maxPorts(), 4096u);
  EXPECT_EQ(TwoLevelAbi::kBitsPerWord, 64u);
}

TEST_F(TwoLevelAbiTest, SetPendingOnUnmaskedPortRaisesOneUpcall) {
  Model2l m{bits()};
  EXPECT_TRUE(m.setPending(70, 1));
  EXPECT_TRUE(abi_.setPending(70, 1));
  EXPECT_EQ(bits(), m.b);
  EXPECT_EQ(page_->vcpu_info[1].evtchn_pending_sel, xen_ulong_t{1} << 1);
  EXPECT_EQ(page_->vcpu_info[1].evtchn_upcall_pending, 1);
  EXPECT_TRUE(abi_.isPending(70));
  // Already pending: nothing changes.
  EXPECT_FALSE(abi_.setPending(70, 1));
  // Same selector word: selector already set, no second upcall.
  EXPECT_FALSE(abi_.setPending(71, 1));
  m.setPending(71, 1);
  EXPECT_EQ(bits(), m.b);
}

TEST_F(TwoLevelAbiTest, MaskedPortOnlyBecomesPending) {
  setBit(page_->evtchn_mask, 5);
  EXPECT_FALSE(abi_.setPending(5, 0));
  EXPECT_TRUE(abi_.isPending(5));
  EXPECT_TRUE(abi_.isMasked(5));
  EXPECT_EQ(page_->vcpu_info[0].evtchn_pending_sel, 0u);
  EXPECT_EQ(page_->vcpu_info[0].evtchn_upcall_pending, 0);
  // Unmask delivers it, once.
  EXPECT_TRUE(abi_.unmask(5, 0));
  EXPECT_FALSE(abi_.isMasked(5));
  EXPECT_EQ(page_->vcpu_info[0].evtchn_upcall_pending, 1);
  EXPECT_FALSE(abi_.unmask(5, 0));
}

TEST_F(TwoLevelAbiTest, UnmaskOfIdlePortOnlyClearsMask) {
  setBit(page_->evtchn_mask, 300);
  EXPECT_FALSE(abi_.unmask(300, 2));
  Bits expect{};
  EXPECT_EQ(bits(), expect);
}

TEST_F(TwoLevelAbiTest, UpcallAlreadyPendingGivesNoNewUpcall) {
  page_->vcpu_info[0].evtchn_upcall_pending = 1;
  EXPECT_FALSE(abi_.setPending(9, 0));
  EXPECT_EQ(page_->vcpu_info[0].evtchn_pending_sel, 1u);
}

TEST_F(TwoLevelAbiTest, SelectorAlreadySetLeavesUpcallAlone) {
  page_->vcpu_info[3].evtchn_pending_sel = 1;
  EXPECT_FALSE(abi_.setPending(10, 3));
  EXPECT_EQ(page_->vcpu_info[3].evtchn_upcall_pending, 0);
}

TEST_F(TwoLevelAbiTest, ClearPendingTouchesOnlyThePendingBit) {
  ASSERT_TRUE(abi_.setPending(64, 0));
  abi_.clearPending(64);
  EXPECT_FALSE(abi_.isPending(64));
  EXPECT_EQ(page_->vcpu_info[0].evtchn_pending_sel, 2u);  // the guest's to clear
}

TEST_F(TwoLevelAbiTest, UnplacedSharedInfoMakesEverythingANoop) {
  TwoLevelAbi none{[] { return static_cast<shared_info_t*>(nullptr); }};
  EXPECT_FALSE(none.setPending(1, 0));
  EXPECT_FALSE(none.unmask(1, 0));
  EXPECT_FALSE(none.isPending(1));
  EXPECT_FALSE(none.isMasked(1));
  none.clearPending(1);
  TwoLevelAbi empty{TwoLevelAbi::SharedInfoProvider{}};
  EXPECT_FALSE(empty.setPending(1, 0));
}

TEST_F(TwoLevelAbiTest, FollowsTheFrameWhenItMoves) {
  auto other = std::make_unique<shared_info_t>();
  std::memset(other.get(), 0, sizeof(shared_info_t));
  shared_info_t* current = page_.get();
  TwoLevelAbi moving{[&current] { return current; }};
  EXPECT_TRUE(moving.setPending(1, 0));
  current = other.get();
  EXPECT_FALSE(moving.isPending(1));
  EXPECT_TRUE(moving.setPending(1, 0));
  EXPECT_TRUE(testBit(other->evtchn_pending, 1));
}

TEST_F(TwoLevelAbiTest, PortsPastTheLimitAreIgnored) {
  for (uint32_t port : {4096u, 4097u, 0x7fffffffu, 0xffffffffu}) {
    EXPECT_FALSE(abi_.setPending(port, 0));
    EXPECT_FALSE(abi_.unmask(port, 0));
    abi_.clearPending(port);
    EXPECT_FALSE(abi_.isPending(port));
  }
  Bits zero{};
  EXPECT_EQ(bits(), zero);
}

TEST_F(TwoLevelAbiTest, VcpuWithoutVcpuInfoGetsPendingButNoUpcall) {
  EXPECT_FALSE(abi_.setPending(3, XEN_LEGACY_MAX_VCPUS));
  EXPECT_TRUE(abi_.isPending(3));
  EXPECT_FALSE(abi_.setPending(4, 0xffffffffu));
}

TEST_F(TwoLevelAbiTest, RegisteredVcpuInfoIsUsed) {
  vcpu_info_t mine{};
  TwoLevelAbi abi{[this] { return page_.get(); },
                  [&mine](uint32_t vcpu) { return vcpu == 40 ? &mine : nullptr; }};
  EXPECT_TRUE(abi.setPending(129, 40));
  EXPECT_EQ(mine.evtchn_pending_sel, 4u);
  EXPECT_EQ(mine.evtchn_upcall_pending, 1);
  EXPECT_FALSE(abi.setPending(130, 0));  // vCPU 0 has none in this layout
}

TEST_F(TwoLevelAbiTest, RandomOperationsMatchTheModel) {
  std::mt19937 rng(1234);
  Model2l m{bits()};
  for (int i = 0; i < 20000; ++i) {
    uint32_t port = rng() % 4096, vcpu = rng() % 4;
    switch (rng() % 6) {
      case 0: case 1: ASSERT_EQ(abi_.setPending(port, vcpu), m.setPending(port, vcpu)); break;
      case 2: ASSERT_EQ(abi_.unmask(port, vcpu), m.unmask(port, vcpu)); break;
      case 3: abi_.clearPending(port); m.clearPending(port); break;
      case 4:  // the guest masks a port
        setBit(page_->evtchn_mask, port);
        Model2l::put(m.b.mask, port, true);
        break;
      case 5:  // the guest acknowledges its upcall
        page_->vcpu_info[vcpu].evtchn_upcall_pending = 0;
        page_->vcpu_info[vcpu].evtchn_pending_sel = 0;
        m.b.upcall[vcpu] = 0;
        m.b.sel[vcpu] = 0;
        break;
    }
    ASSERT_EQ(bits(), m.b) << "step " << i;
  }
}

}  // namespace
}  // namespace smartvm::evtchn::test
