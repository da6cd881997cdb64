// EVTCHNOP_send, EVTCHNOP_unmask and raiseVirq: bits and exact notification counts.
#include "EvtchnTestUtil.h"
#include "GuestConsumer.h"

namespace smartvm::evtchn::test {
namespace {

class DeliveryTest : public EvtchnTest {
 protected:
  void SetUp() override {
    addDom(kDom0);
    addDom(1);
    addDom(2);
  }
  /// A connected pair with the binder's conservative pending event consumed.
  std::pair<uint32_t, uint32_t> quietConnect(uint16_t a, uint16_t b) {
    auto ports = connect(a, b);
    consumeEvents(si(b), 0);
    notifies_.clear();
    return ports;
  }
};

TEST_F(DeliveryTest, SendOnInterdomainSetsTheRemotePort) {
  auto [p1, p2] = quietConnect(1, 2);
  Model2l m2 = model(2), m1 = model(1);
  ASSERT_EQ(send(1, p1), 0);
  EXPECT_TRUE(m2.setPending(p2, 0));
  EXPECT_EQ(bits(2), m2.b);
  EXPECT_EQ(bits(1), m1.b);
  EXPECT_EQ(notifies(2, 0), 1);
  // Already pending: no second notification.
  ASSERT_EQ(send(1, p1), 0);
  EXPECT_EQ(notifies(2, 0), 1);
  EXPECT_EQ(bits(2), m2.b);
  // The guest consumes; the next send notifies again.
  EXPECT_EQ(consumeEvents(si(2), 0), std::vector<uint32_t>{p2});
  ASSERT_EQ(send(1, p1), 0);
  EXPECT_EQ(notifies(2, 0), 2);
  EXPECT_EQ(totalNotifies(), 2);
}

TEST_F(DeliveryTest, SendFollowsTheRemotesNotifyVcpu) {
  auto [p1, p2] = quietConnect(1, 2);
  ASSERT_EQ(bindVcpu(2, p2, 3), 0);
  ASSERT_EQ(send(1, p1), 0);
  EXPECT_EQ(notifies(2, 3), 1);
  EXPECT_EQ(si(2).vcpu_info[3].evtchn_upcall_pending, 1);
  EXPECT_EQ(si(2).vcpu_info[0].evtchn_upcall_pending, 0);
}

TEST_F(DeliveryTest, MaskedPortGivesNoNotificationUntilUnmasked) {
  auto [p1, p2] = quietConnect(1, 2);
  maskPort(2, p2);
  Model2l m = model(2);
  ASSERT_EQ(send(1, p1), 0);
  m.setPending(p2, 0);
  EXPECT_EQ(bits(2), m.b);
  EXPECT_EQ(totalNotifies(), 0);
  ASSERT_EQ(unmask(2, p2), 0);
  EXPECT_TRUE(m.unmask(p2, 0));
  EXPECT_EQ(bits(2), m.b);
  EXPECT_EQ(notifies(2, 0), 1);
}

TEST_F(DeliveryTest, UnmaskStormRaisesOneNotification) {
  auto [p1, p2] = quietConnect(1, 2);
  maskPort(2, p2);
  ASSERT_EQ(send(1, p1), 0);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(unmask(2, p2), 0);
  EXPECT_EQ(notifies(2, 0), 1);
  EXPECT_EQ(totalNotifies(), 1);
  Model2l m;
  m.setPending(p2, 0);
  EXPECT_EQ(bits(2), m.b);
  // Re-masking and unmasking while the upcall is still pending: no new one.
  for (int i = 0; i < 1000; ++i) {
    maskPort(2, p2);
    ASSERT_EQ(unmask(2, p2), 0);
  }
  EXPECT_EQ(totalNotifies(), 1);
}

TEST_F(DeliveryTest, UnmaskErrors) {
  EXPECT_EQ(unmask(1, 1), 0);  // free but valid: Xen unmasks it anyway
  EXPECT_EQ(unmask(1, 64), -EINVAL);
  EXPECT_EQ(unmask(1, 0xffffffffu), -EINVAL);
  EXPECT_EQ(unmask(99, 1), -ESRCH);
  EXPECT_EQ(totalNotifies(), 0);
}

TEST_F(DeliveryTest, SendOnUnboundIsSilentlyDropped) {
  int64_t port = allocUnbound(1, DOMID_SELF, 2);
  EXPECT_EQ(send(1, static_cast<uint32_t>(port)), 0);
  EXPECT_EQ(bits(1), Bits{});
  EXPECT_EQ(bits(2), Bits{});
  EXPECT_EQ(totalNotifies(), 0);
}

TEST_F(DeliveryTest, SendOnFreeClosedReservedVirqOrHostilePortsIsEinval) {
  int64_t timer = bindVirq(1, VIRQ_TIMER, 0);
  int64_t ipi = bindIpi(1, 0);
  ASSERT_EQ(closePort(1, static_cast<uint32_t>(ipi)), 0);
  EXPECT_EQ(send(1, static_cast<uint32_t>(timer)), -EINVAL);
  EXPECT_EQ(send(1, static_cast<uint32_t>(ipi)), -EINVAL);
  EXPECT_EQ(send(1, 0), -EINVAL);
  EXPECT_EQ(send(1, 30), -EINVAL);
  EXPECT_EQ(send(1, 64), -EINVAL);
  EXPECT_EQ(send(1, 4096), -EINVAL);
  EXPECT_EQ(send(1, 0xffffffffu), -EINVAL);
  EXPECT_EQ(send(99, 1), -ESRCH);
  EXPECT_EQ(bits(1), Bits{});
  EXPECT_EQ(totalNotifies(), 0);
}

TEST_F(DeliveryTest, IpiSetsTheLocalPortForItsVcpu) {
  int64_t ipi = bindIpi(1, 2);
  Model2l m = model(1);
  ASSERT_EQ(send(1, static_cast<uint32_t>(ipi)), 0);
  EXPECT_TRUE(m.setPending(static_cast<uint32_t>(ipi), 2));
  EXPECT_EQ(bits(1), m.b);
  EXPECT_EQ(notifies(1, 2), 1);
  EXPECT_EQ(totalNotifies(), 1);
}

TEST_F(DeliveryTest, PerVcpuVirqGoesToItsVcpu) {
  int64_t t0 = bindVirq(1, VIRQ_TIMER, 0);
  int64_t t2 = bindVirq(1, VIRQ_TIMER, 2);
  Model2l m = model(1);
  ec_.raiseVirq(1, VIRQ_TIMER, 2);
  m.setPending(static_cast<uint32_t>(t2), 2);
  EXPECT_EQ(bits(1), m.b);
  EXPECT_EQ(notifies(1, 2), 1);
  ec_.raiseVirq(1, VIRQ_TIMER, 0);
  m.setPending(static_cast<uint32_t>(t0), 0);
  EXPECT_EQ(bits(1), m.b);
  EXPECT_EQ(notifies(1, 0), 1);
  ec_.raiseVirq(1, VIRQ_TIMER, 1);            // not bound on vCPU 1
  ec_.raiseVirq(1, VIRQ_TIMER, 0xffffffffu);
  ec_.raiseVirq(1, NR_VIRQS, 0);
  ec_.raiseVirq(1, 0xffffffffu, 0);
  ec_.raiseVirq(99, VIRQ_TIMER, 0);
  EXPECT_EQ(bits(1), m.b);
  EXPECT_EQ(totalNotifies(), 2);
}

TEST_F(DeliveryTest, GlobalVirqGoesToItsNotifyVcpu) {
  int64_t port = bindVirq(kDom0, VIRQ_DOM_EXC, 0);
  ASSERT_EQ(bindVcpu(kDom0, static_cast<uint32_t>(port), 1), 0);
  ec_.raiseVirq(kDom0, VIRQ_DOM_EXC, 3);  // the vCPU argument is ignored
  EXPECT_EQ(notifies(kDom0, 1), 1);
  EXPECT_EQ(totalNotifies(), 1);
  EXPECT_EQ(ec_.pollPending(kDom0, static_cast<uint32_t>(port)), 1);
  EXPECT_EQ(ec_.pollPending(kDom0, 2), 0);
  EXPECT_EQ(ec_.pollPending(kDom0, 64), -EINVAL);
  EXPECT_EQ(ec_.pollPending(99, 1), -ESRCH);
}

TEST_F(DeliveryTest, InterdomainPingPongLosesAndDuplicatesNothing) {
  auto [pa, pb] = quietConnect(kDom0, 1);
  consumeEvents(si(kDom0), 0);
  int pings = 0, pongs = 0;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(send(kDom0, pa), 0);
    ASSERT_EQ(consumeEvents(si(1), 0), std::vector<uint32_t>{pb}) << i;
    ++pings;
    ASSERT_EQ(send(1, pb), 0);
    ASSERT_EQ(consumeEvents(si(kDom0), 0), std::vector<uint32_t>{pa}) << i;
    ++pongs;
  }
  EXPECT_EQ(pings, 10000);
  EXPECT_EQ(pongs, 10000);
  EXPECT_EQ(notifies(1, 0), 10000);
  EXPECT_EQ(notifies(kDom0, 0), 10000);
  EXPECT_EQ(bits(1), Bits{});
  EXPECT_EQ(bits(kDom0), Bits{});
}

TEST_F(DeliveryTest, UnplacedSharedInfoDropsEventsWithoutNotifying) {
  ASSERT_TRUE(ec_.addDomain(5, std::make_unique<TwoLevelAbi>(
                                   [] { return static_cast<shared_info_t*>(nullptr); })).isOk());
  int64_t ipi = bindIpi(5, 0);
  EXPECT_EQ(send(5, static_cast<uint32_t>(ipi)), 0);
  EXPECT_EQ(totalNotifies(), 0);
  EXPECT_EQ(ec_.pollPending(5, static_cast<uint32_t>(ipi)), 0);
}

}  // namespace
}  // namespace smartvm::evtchn::test
